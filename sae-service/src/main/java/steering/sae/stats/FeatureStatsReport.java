package steering.sae.stats;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.sae.features.FeatureIndices;
import steering.sae.store.SaeStore;
import steering.v1.FeatureStat;
import steering.v1.FeatureStatsRequest;
import steering.v1.FeatureStatsResponse;

import java.io.IOException;
import java.util.List;

/** FeatureStats: an SAE's stored statistics as the wire gives them, whole or for the listed features. */
public final class FeatureStatsReport {
    private final SaeStore store;

    public FeatureStatsReport(SaeStore store) {
        this.store = store;
    }

    public FeatureStatsResponse report(String id, FeatureStatsRequest request) throws IOException {
        int m = store.record(id).config().dSae();
        FeatureStatsData s = store.stats(id);
        if (s == null) {
            throw Status.FAILED_PRECONDITION.withDescription("sae_id: SAE '" + id + "' has no stored feature statistics; "
                    + "run StartComputeFeatureStats first").asRuntimeException();
        }
        int[] features = FeatureIndices.parse(request.getFeaturesList(), m, "features");
        boolean all = request.getFeaturesCount() == 0;
        int contexts = request.hasTopContexts() ? request.getTopContexts() : (all ? 0 : 5);
        if (contexts < 0 || contexts > 100) throw Errors.invalid("top_contexts", contexts + " is outside [0, 100]");
        FeatureStatsResponse.Builder b = FeatureStatsResponse.newBuilder().setTokens(s.tokens()).setCorpus(s.corpus())
                .setComputedAt(Timestamp.newBuilder().setSeconds(s.computedAt().getEpochSecond()));
        for (int f : s.bosFeatures()) b.addBosFeatures(f);
        if (all) {
            b.setDensity(TensorCodec.ofFloats(s.density(), m)).setMeanActivation(TensorCodec.ofFloats(s.meanActivation(), m));
        }
        if (!all || contexts > 0) {
            float[] norms = decoderNorms(id);
            for (int f : features) b.addFeatures(stat(s, f, contexts, norms));
        }
        return b.build();
    }

    private float[] decoderNorms(String id) throws IOException {
        try (SaeStore.Lease lease = store.acquire(id)) {
            return lease.sae().decoderNorms();
        }
    }

    /** Feature {@code f}'s statistics with its first {@code contexts} top contexts (and decoder norm, if given). */
    public static FeatureStat stat(FeatureStatsData s, int f, int contexts, float[] norms) {
        FeatureStat.Builder b = FeatureStat.newBuilder().setFeature(f).setDensity(s.density()[f])
                .setMeanActivation(s.meanActivation()[f]).setMeanActiveActivation(s.meanActiveActivation()[f])
                .setMaxActivation(s.maxActivation()[f]).setBosActivation(s.bosActivation()[f]);
        if (norms != null) b.setDecoderNorm(norms[f]);
        List<TopContext> list = s.topContexts().getOrDefault(f, List.of());
        for (int i = 0; i < Math.min(contexts, list.size()); i++) {
            TopContext c = list.get(i);
            b.addTopContexts(steering.v1.TopContext.newBuilder().setDocument(c.document()).setPosition(c.position())
                    .setActivation(c.activation()).setText(c.text()).setToken(c.token()));
        }
        return b.build();
    }
}
