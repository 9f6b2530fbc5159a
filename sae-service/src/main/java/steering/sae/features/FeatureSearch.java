package steering.sae.features;

import io.grpc.Status;
import steering.common.grpc.Errors;
import steering.sae.core.Sae;
import steering.sae.encode.HookCapture;
import steering.common.client.ModelClient;
import steering.sae.stats.FeatureStatsData;
import steering.sae.stats.FeatureStatsReport;
import steering.sae.store.SaeStore;
import steering.v1.FeatureReduction;
import steering.v1.Prompt;
import steering.v1.SearchFeatureHit;
import steering.v1.SearchFeaturesRequest;
import steering.v1.SearchFeaturesResponse;
import steering.v1.TokenIds;
import steering.v1.TokenizeResponse;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/** SearchFeatures: a text's most active features (mean or max over its non-BOS tokens), filtered, with their statistics. */
public record FeatureSearch(SaeStore store, ModelClient model, HookCapture hooks) {
    /** A checked request: its limits with the defaults filled in. */
    public record Query(SearchFeaturesRequest request, int topK, int contexts, boolean max) {
        /** Checks the request's limits before any SAE is loaded. */
        public static Query of(SearchFeaturesRequest request) {
            int topK = request.getTopK() == 0 ? 10 : request.getTopK();
            if (topK < 1 || topK > 1000) throw Errors.invalid("top_k", topK + " is outside [1, 1000]");
            int contexts = request.hasTopContexts() ? request.getTopContexts() : 3;
            if (contexts < 0 || contexts > 100) throw Errors.invalid("top_contexts", contexts + " is outside [0, 100]");
            if (request.hasMaxDensity() && !(request.getMaxDensity() > 0 && request.getMaxDensity() <= 1)) {
                throw Errors.invalid("max_density", request.getMaxDensity() + " is outside (0, 1]");
            }
            FeatureReduction red = request.getReduction();
            if (red == FeatureReduction.UNRECOGNIZED || red == FeatureReduction.FEATURE_REDUCTION_PER_TOKEN) {
                throw Errors.invalid("reduction", red + " is not a reduction here: use FEATURE_REDUCTION_MEAN (default) or FEATURE_REDUCTION_MAX");
            }
            if (!request.hasPrompt() || request.getPrompt().getKindCase() == Prompt.KindCase.KIND_NOT_SET) {
                throw Errors.invalid("prompt", "a prompt (text, tokens or chat) is required");
            }
            return new Query(request, topK, contexts, red == FeatureReduction.FEATURE_REDUCTION_MAX);
        }
    }

    /** Per feature its score over the tokens and the token (row) where it is largest. */
    record Scores(float[] score, int[] argmax) {}

    public SearchFeaturesResponse search(Query q, String id, SaeStore.Lease lease) throws IOException {
        SearchFeaturesRequest request = q.request();
        Sae sae = lease.sae();
        FeatureStatsData stats = store.stats(id);
        if (request.hasMaxDensity() && stats == null) {
            throw Status.FAILED_PRECONDITION.withDescription("max_density: SAE '" + id + "' has no stored statistics; run StartComputeFeatureStats").asRuntimeException();
        }
        String hook = hooks.usableHook(lease.record(), "prompt");
        ModelClient.Captured c = hooks.capture(List.of(request.getPrompt()), hook, "prompt").get(0);
        int d = sae.dIn(), m = sae.dSae();
        int bos = hooks.bosTokenId();
        boolean hasBos = bos >= 0 && c.tokenIds().length > 0 && c.tokenIds()[0] == bos;
        int skip = hasBos && c.positions().length > 1 ? 1 : 0;
        int n = c.positions().length - skip;
        float[] f = sae.encode(Arrays.copyOfRange(c.rows(), skip * d, (skip + n) * d), n);
        float[] bosActs = null;
        if (request.getExcludeBosFeatures()) {
            if (stats != null) bosActs = stats.bosActivation();
            else if (hasBos) bosActs = sae.encode(Arrays.copyOf(c.rows(), d), 1);
        }
        Scores s = scores(f, n, m, q.max());
        Integer[] order = byScore(s.score());
        TokenizeResponse pieces = model.tokenize(Prompt.newBuilder().setTokens(TokenIds.newBuilder()
                .addAllIds(Arrays.stream(c.tokenIds()).boxed().toList())).build());
        SearchFeaturesResponse.Builder b = SearchFeaturesResponse.newBuilder().setHasFeatureStats(stats != null)
                .addAllTokenIds(pieces.getIdsList()).addAllTokens(pieces.getTokensList());
        float[] norms = sae.decoderNorms();
        for (int i = 0; i < m && b.getHitsCount() < q.topK(); i++) {
            int j = order[i];
            if (s.score()[j] <= 0) break;
            if (request.hasMaxDensity() && stats.density()[j] > request.getMaxDensity()) continue;
            if (bosActs != null && bosActs[j] > 0) continue;
            int pos = c.positions()[s.argmax()[j] + skip];
            SearchFeatureHit.Builder h = SearchFeatureHit.newBuilder().setFeature(j).setActivation(s.score()[j])
                    .setMaxPosition(pos).setMaxToken(pos < pieces.getTokensCount() ? pieces.getTokens(pos) : "");
            if (stats != null) h.setStat(FeatureStatsReport.stat(stats, j, q.contexts(), norms));
            b.addHits(h);
        }
        return b.build();
    }

    /** Each feature's mean (or max) over the {@code n} rows of {@code f [n, m]}, and the first row of its positive maximum (0 if none). */
    static Scores scores(float[] f, int n, int m, boolean max) {
        float[] score = new float[m];
        int[] argmax = new int[m];
        for (int j = 0; j < m; j++) {
            double acc = 0;
            float best = 0;
            for (int r = 0; r < n; r++) {
                float v = f[r * m + j];
                if (max) acc = Math.max(acc, v);
                else acc += v;
                if (v > best) {
                    best = v;
                    argmax[j] = r;
                }
            }
            score[j] = (float) (max ? acc : acc / n);
        }
        return new Scores(score, argmax);
    }

    /** Feature indices, highest score first (a stable sort: ties keep index order). */
    private static Integer[] byScore(float[] score) {
        Integer[] order = new Integer[score.length];
        for (int j = 0; j < score.length; j++) order[j] = j;
        Arrays.sort(order, (a, b) -> Float.compare(score[b], score[a]));
        return order;
    }
}
