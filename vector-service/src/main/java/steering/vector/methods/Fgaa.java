package steering.vector.methods;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * FGAA (Soo et al. 2025, arXiv 2501.09929; reconstructed from third-party descriptions, see docs/vector-service.md):
 * v_diff = mean over positive examples of their token-averaged SAE encoding minus the same over negative examples;
 * zero features whose density exceeds a threshold and features that fire on BOS; keep the n_pos largest positive
 * and n_neg most negative entries (v_target); map v_target to a steering vector with the SAE-TS approximator.
 */
public final class Fgaa {
    private Fgaa() {}

    /** Why each feature was dropped, and what is left. */
    public record Selection(float[] diff, int[] features, double[] weights, int droppedForDensity, int droppedAsBos,
                            int droppedExcluded) {
        /** The dense target [m]. */
        public float[] target() {
            return SaeTs.target(diff.length, features, weights);
        }
    }

    /**
     * @param positiveMean mean SAE activation [m] over the positive examples (each example token-averaged first)
     * @param negativeMean the same over the negative examples
     * @param density      fraction of tokens each feature fires on [m], or null to skip the density filter
     * @param maxDensity   features with density > maxDensity are dropped
     * @param bosFeatures  features dropped as BOS features
     * @param excluded     further features dropped
     */
    public static Selection select(float[] positiveMean, float[] negativeMean, float[] density, double maxDensity,
                                   Set<Integer> bosFeatures, Set<Integer> excluded, int nPos, int nNeg) {
        int m = positiveMean.length;
        if (negativeMean.length != m) throw new IllegalArgumentException("means of different widths");
        if (density != null && density.length != m) throw new IllegalArgumentException("density has " + density.length + " entries, d_sae is " + m);
        float[] diff = Vec.sub(positiveMean, negativeMean);
        float[] filtered = diff.clone();
        int dens = 0, bos = 0, ex = 0;
        for (int j = 0; j < m; j++) {
            if (filtered[j] == 0) continue;
            if (excluded.contains(j)) {
                filtered[j] = 0;
                ex++;
            } else if (bosFeatures.contains(j)) {
                filtered[j] = 0;
                bos++;
            } else if (density != null && density[j] > maxDensity) {
                filtered[j] = 0;
                dens++;
            }
        }
        Integer[] order = new Integer[m];
        for (int j = 0; j < m; j++) order[j] = j;
        // largest first; ties by index so the result is deterministic
        Arrays.sort(order, Comparator.<Integer>comparingDouble(j -> -filtered[j]).thenComparingInt(j -> j));
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < m && picked.size() < nPos; i++) if (filtered[order[i]] > 0) picked.add(order[i]);
        int negs = 0;
        for (int i = m - 1; i >= 0 && negs < nNeg; i--) {
            if (filtered[order[i]] < 0) {
                picked.add(order[i]);
                negs++;
            }
        }
        int[] features = picked.stream().mapToInt(Integer::intValue).toArray();
        double[] weights = new double[features.length];
        for (int i = 0; i < features.length; i++) weights[i] = filtered[features[i]];
        return new Selection(diff, features, weights, dens, bos, ex);
    }
}
