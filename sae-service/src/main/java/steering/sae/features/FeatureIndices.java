package steering.sae.features;

import steering.common.grpc.Errors;

import java.util.List;

/** A request's list of feature indices: each within {@code [0, d_sae)}; an empty list means every feature. */
public final class FeatureIndices {
    private FeatureIndices() {}

    public static int[] parse(List<Integer> list, int m, String field) {
        if (list.isEmpty()) {
            int[] all = new int[m];
            for (int j = 0; j < m; j++) all[j] = j;
            return all;
        }
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            int f = list.get(i);
            if (f < 0 || f >= m) throw Errors.invalid(field + "[" + i + "]", f + " is outside [0, " + (m - 1) + "]");
            out[i] = f;
        }
        return out;
    }
}
