package steering.sae.stats;

import steering.common.grpc.Errors;
import steering.common.ops.OperationContext;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.TokenWindows;
import steering.common.client.ModelClient;
import steering.sae.store.SaeRecord;
import steering.sae.store.SaeStore;
import steering.sae.training.ActivationCapture;
import steering.sae.training.ActivationSet;
import steering.v1.ComputeFeatureStatsRequest;
import steering.v1.CorpusSource;
import steering.v1.FeatureStatsSummary;
import steering.v1.ModelInfo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * ComputeFeatureStats: an SAE's per-feature statistics over a corpus (read, cut into windows, captured at the
 * SAE's hook, encoded), stored with the SAE. Runs from nothing: a restart ends it FAILED "interrupted by restart".
 */
public record ComputeFeatureStatsJob(SaeStore store, ModelClient model, CorpusReader corpus) {
    /** A checked request: everything {@link #run} needs, so a bad one fails before an operation starts. */
    public record Plan(String saeId, String hook, boolean prependBos, int contextSize, long maxTokens, int topContexts,
                       List<CorpusSource> sources) {}

    /** @param hook the SAE's hook, already checked against the model model-service serves */
    public Plan plan(ComputeFeatureStatsRequest request, String saeId, SaeRecord rec, String hook) {
        corpus.validate(request.getCorpusList(), "corpus");
        ModelInfo info = model.info();
        int maxContext = Math.min(info.getMaxRequestTokens() > 0 ? info.getMaxRequestTokens() : info.getContextLength(), 4096);
        int context = request.getContextSize() == 0 ? Math.min(128, maxContext) : request.getContextSize();
        if (context < 8 || context > maxContext) throw Errors.invalid("context_size", context + " is outside [8, " + maxContext + "]");
        long maxTokens = request.getMaxTokens() == 0 ? 100_000 : request.getMaxTokens();
        long cap = (Integer.MAX_VALUE - 8L) / info.getDModel();
        if (maxTokens < 1 || maxTokens > cap) throw Errors.invalid("max_tokens", maxTokens + " is outside [1, " + cap + "]");
        int top = request.getTopContexts() == 0 ? 10 : request.getTopContexts();
        if (top < 0 || top > 100) throw Errors.invalid("top_contexts", top + " is outside [0, 100]");
        return new Plan(saeId, hook, rec.config().prependBos(), context, maxTokens, top, request.getCorpusList());
    }

    public FeatureStatsSummary run(Plan p, OperationContext ctx) throws Exception {
        ctx.progress(0, "reading the corpus");
        List<CorpusReader.Document> docs = corpus.read(p.sources(), model, ctx::isCancelled);
        Map<Integer, String> pieces = new HashMap<>();
        List<TokenWindows.Window> windows = TokenWindows.build(docs, model, p.contextSize(), p.prependBos(), 1,
                p.maxTokens(), pieces, ctx::isCancelled);
        if (windows.isEmpty()) throw Errors.invalid("corpus", "the corpus holds no tokens");
        String bosPiece = windows.get(0).hasBos() ? model.detokenize(new int[]{windows.get(0).ids()[0]}) : "<bos>";
        ActivationSet acts = ActivationCapture.capture(model, windows, p.hook(), 8, ctx::isCancelled,
                (done, total, tokens) -> ctx.progress(0.05 + 0.6 * done / total, "capturing: " + done + "/" + total + " windows"));
        List<String> parts = new ArrayList<>();
        p.sources().forEach(s -> parts.add(CorpusReader.describe(s)));
        FeatureStatsData stats;
        try (SaeStore.Lease lease = store.acquire(p.saeId())) {
            stats = FeatureStatsComputer.compute(lease.sae(), acts, p.topContexts(), pieces, bosPiece, model::detokenize, String.join(" + ", parts),
                    ctx::isCancelled, (done, total) -> ctx.progress(0.65 + 0.33 * done / total, "encoding: " + done + "/" + total + " tokens"));
        }
        ctx.checkCancelled();
        store.saveStats(p.saeId(), stats);
        FeatureStatsSummary.Builder sum = FeatureStatsSummary.newBuilder().setSaeId(p.saeId()).setTokens(stats.tokens())
                .setDeadFraction(stats.deadFraction()).setL0(stats.l0());
        for (int f : stats.bosFeatures()) sum.addBosFeatures(f);
        ctx.update(1.0, "statistics of " + stats.tokens() + " tokens stored", Map.of("dead_fraction", stats.deadFraction(), "l0", stats.l0()));
        return sum.build();
    }
}
