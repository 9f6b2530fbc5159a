package steering.sae.encode;

import steering.v1.EncodedText;

import java.util.ArrayList;
import java.util.List;

/** Encode's MEAN / MAX reduction: each text's rows of features folded into one row. */
final class PerTextReduction {
    private PerTextReduction() {}

    /** {@code [groups, m]}: per group of rows {@code [from, to)} of {@code f [*, m]}, the mean or the max of each feature. */
    static float[] reduce(float[] f, int m, List<int[]> groups, boolean max) {
        float[] out = new float[groups.size() * m];
        for (int g = 0; g < groups.size(); g++) {
            int from = groups.get(g)[0], to = groups.get(g)[1];
            for (int j = 0; j < m; j++) {
                double acc = max ? Double.NEGATIVE_INFINITY : 0;
                for (int r = from; r < to; r++) {
                    float v = f[r * m + j];
                    acc = max ? Math.max(acc, v) : acc + v;
                }
                out[g * m + j] = (float) (max ? acc : acc / Math.max(1, to - from));
            }
        }
        return out;
    }

    /** The texts renumbered for the reduced rows: text i is row i. */
    static List<EncodedText> oneRowEach(List<EncodedText> texts) {
        List<EncodedText> out = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) out.add(texts.get(i).toBuilder().setFirstRow(i).setRowCount(1).build());
        return out;
    }
}
