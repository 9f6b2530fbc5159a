package steering.sae.stats;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Per-feature statistics of an SAE over a corpus.
 *
 * @param tokens              non-BOS tokens the statistics cover
 * @param density             fraction of those tokens on which the feature is > 0
 * @param meanActivation      mean activation over all those tokens
 * @param meanActiveActivation mean over the tokens where it fires (0 if it never does)
 * @param maxActivation       its largest activation
 * @param bosActivation       its activation on the BOS token (0 when the model has no BOS)
 * @param bosFeatures         features active on BOS, most active first
 * @param topContexts         per feature, its strongest tokens, strongest first (features that never fire: absent)
 */
public record FeatureStatsData(long tokens, String corpus, Instant computedAt, float[] density, float[] meanActivation,
                               float[] meanActiveActivation, float[] maxActivation, float[] bosActivation,
                               int[] bosFeatures, Map<Integer, List<TopContext>> topContexts) {

    public int dSae() {
        return density.length;
    }

    public double deadFraction() {
        int dead = 0;
        for (float d : density) if (d == 0f) dead++;
        return (double) dead / density.length;
    }

    /** Mean number of active features per token. */
    public double l0() {
        double s = 0;
        for (float d : density) s += d;
        return s;
    }
}
