package steering.sae.training;


import steering.common.grpc.Errors;
import steering.common.ops.OperationContext;
import steering.sae.core.Sae;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.TokenWindows;
import steering.common.client.ModelClient;
import steering.sae.store.SaeRecord;
import steering.sae.store.SaeStore;
import steering.v1.EvaluateSaeRequest;
import steering.v1.ModelInfo;
import steering.v1.SaeTrainingMetrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * EvaluateSae: the figures TrainSae reports, for any stored SAE on any corpus: variance explained, MSE and L0 on
 * every (non-BOS, non-outlier) captured token, the fraction of features that never fire there, and the spliced
 * next-token loss on some of the windows.
 */
public record EvaluateSaeJob(SaeStore store, ModelClient model, CorpusReader corpus) {
    public record Plan(String saeId, String hook, int contextSize, long maxTokens, int splicedWindows, int positions,
                       double maxNormRatio, long seed, boolean prependBos, EvaluateSaeRequest request) {}

    /** Validates a request (INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION) and fills in the defaults. */
    public Plan plan(EvaluateSaeRequest r, String hook) throws java.io.IOException {
        String id = SaeStore.checkId(r.getSaeId(), "sae_id");
        SaeRecord rec = store.record(id);
        corpus.validate(r.getCorpusList(), "corpus");
        ModelInfo info = model.info();
        int maxContext = Math.min(info.getMaxRequestTokens() > 0 ? info.getMaxRequestTokens() : info.getContextLength(), 4096);
        int dflt = rec.config().contextSize() > 0 ? Math.min(rec.config().contextSize(), maxContext) : Math.min(128, maxContext);
        int context = r.getContextSize() == 0 ? dflt : r.getContextSize();
        if (context < 8 || context > maxContext) throw Errors.invalid("context_size", context + " is outside [8, " + maxContext + "]");
        long maxTokens = r.getMaxTokens() == 0 ? 20_000 : r.getMaxTokens();
        long cap = (Integer.MAX_VALUE - 8L) / info.getDModel();
        if (maxTokens < 16 || maxTokens > cap) throw Errors.invalid("max_tokens", maxTokens + " is outside [16, " + cap + "]");
        int windows = r.hasSplicedLossWindows() ? r.getSplicedLossWindows() : 32;
        if (windows < 0 || windows > 10_000) throw Errors.invalid("spliced_loss_windows", windows + " is outside [0, 10000]");
        int positions = r.getPositionsPerWindow() == 0 ? 4 : r.getPositionsPerWindow();
        if (positions < 1 || positions > 4096) throw Errors.invalid("positions_per_window", positions + " is outside [1, 4096]");
        double ratio = r.hasMaxNormRatio() ? r.getMaxNormRatio() : 10.0;
        if (!Double.isFinite(ratio) || (ratio != 0 && ratio < 2) || ratio > 1e6) {
            throw Errors.invalid("max_norm_ratio", ratio + " is outside [2, 1e6] (or 0 to keep every token)");
        }
        return new Plan(id, hook, context, maxTokens, windows, positions, ratio, r.hasSeed() ? r.getSeed() : 0L,
                rec.config().prependBos(), r);
    }

    public SaeTrainingMetrics run(Plan p, OperationContext ctx) throws Exception {
        long start = System.nanoTime();
        ctx.progress(0, "reading the corpus");
        List<CorpusReader.Document> docs = corpus.read(p.request().getCorpusList(), model, ctx::isCancelled);
        List<TokenWindows.Window> windows = TokenWindows.build(docs, model, p.contextSize(), p.prependBos(), 2, p.maxTokens(),
                new HashMap<>(), ctx::isCancelled);
        if (windows.isEmpty()) throw Errors.invalid("corpus", "the corpus holds no window of at least 2 tokens");
        long captureStart = System.nanoTime();
        ActivationSet acts = ActivationCapture.capture(model, windows, p.hook(), TrainSaeJob.WINDOWS_PER_CALL, ctx::isCancelled,
                (done, total, tokens) -> ctx.progress(0.02 + 0.5 * done / total, "capturing activations: " + done + "/" + total + " windows"));
        double captureTps = acts.rows() / ((System.nanoTime() - captureStart) / 1e9);
        boolean[] outlier = TrainSaeJob.outliers(acts, p.maxNormRatio());
        int outliers = 0;
        for (boolean o : outlier) if (o) outliers++;
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < windows.size(); i++) all.add(i);
        float[] kept = TrainSaeJob.gather(acts, all, outlier);
        int d = acts.d();
        Map<String, Double> m = new LinkedHashMap<>();
        try (SaeStore.Lease lease = store.acquire(p.saeId())) {
            Sae sae = lease.sae();
            ctx.progress(0.55, "reconstructing " + kept.length / d + " tokens");
            double[] fig = TrainSaeJob.reconstructionFigures(sae, kept, kept.length / d, d);
            m.put("variance_explained", fig[0]);
            m.put("mse", fig[1]);
            m.put("l0", fig[2]);
            m.put("variance_explained_all_tokens", TrainSaeJob.reconstructionFigures(sae, acts.data(), acts.rows(), d)[0]);
            m.put("dead_fraction", deadFraction(sae, kept, kept.length / d, d));
            m.put("eval_tokens", (double) (kept.length / d));
            m.put("outlier_tokens", (double) outliers);
            if (p.splicedWindows() > 0) {
                java.util.List<Integer> order = new ArrayList<>(all);
                java.util.Collections.shuffle(order, new java.util.Random(p.seed()));
                List<Integer> sw = order.subList(0, Math.min(p.splicedWindows(), order.size()));
                SplicedLoss.Result sl = SplicedLoss.evaluate(model, sae, p.hook(), acts, outlier, sw, p.positions(), p.seed(),
                        ctx::isCancelled, (done, total) -> ctx.progress(0.6 + 0.39 * done / total, "spliced loss: " + done + "/" + total + " windows"));
                m.put("clean_loss", sl.cleanLoss());
                m.put("spliced_loss", sl.splicedLoss());
                m.put("loss_increase", sl.increase());
                m.put("loss_increase_stderr", sl.increaseStderr());
                m.put("mean_ablation_loss", sl.meanAblationLoss());
                m.put("spliced_loss_tokens", (double) sl.tokens());
            }
        }
        m.put("capture_tokens_per_second", captureTps);
        m.put("wall_seconds", (System.nanoTime() - start) / 1e9);
        ctx.update(1.0, "evaluated " + p.saeId(), m);
        return SaeRecord.metricsProto(m);
    }

    /** Fraction of features that are zero on every one of the rows. */
    static double deadFraction(Sae sae, float[] x, int rows, int d) {
        boolean[] fired = new boolean[sae.dSae()];
        for (int start = 0; start < rows; start += 1024) {
            int n = Math.min(1024, rows - start);
            float[] part = new float[n * d];
            System.arraycopy(x, start * d, part, 0, n * d);
            float[] f = sae.encode(part, n);
            for (int i = 0; i < f.length; i++) if (f[i] > 0) fired[i % sae.dSae()] = true;
        }
        int dead = 0;
        for (boolean b : fired) if (!b) dead++;
        return (double) dead / fired.length;
    }

}
