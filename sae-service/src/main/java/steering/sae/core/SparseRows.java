package steering.sae.core;

/**
 * Feature activations of several rows, sparsely: row r holds entries [offsets[r], offsets[r + 1]), largest first.
 */
public record SparseRows(int[] offsets, int[] indices, float[] values) {
    public int rows() {
        return offsets.length - 1;
    }

    public int count(int row) {
        return offsets[row + 1] - offsets[row];
    }

    /** Dense [rows, dSae]. */
    public float[] toDense(int dSae) {
        float[] out = new float[rows() * dSae];
        for (int r = 0; r < rows(); r++) {
            for (int i = offsets[r]; i < offsets[r + 1]; i++) out[r * dSae + indices[i]] = values[i];
        }
        return out;
    }

    /** The non-zero entries of dense rows, each row's top {@code topK} (0 = all non-zero), largest first. */
    public static SparseRows fromDense(float[] dense, int rows, int dSae, int topK) {
        int[] offsets = new int[rows + 1];
        java.util.List<int[]> idx = new java.util.ArrayList<>(rows);
        java.util.List<float[]> val = new java.util.ArrayList<>(rows);
        int total = 0;
        for (int r = 0; r < rows; r++) {
            int base = r * dSae;
            int nz = 0;
            for (int j = 0; j < dSae; j++) if (dense[base + j] != 0f) nz++;
            Integer[] order = new Integer[nz];
            int p = 0;
            for (int j = 0; j < dSae; j++) if (dense[base + j] != 0f) order[p++] = j;
            java.util.Arrays.sort(order, (a, b) -> {
                int c = Float.compare(dense[base + b], dense[base + a]);
                return c != 0 ? c : Integer.compare(a, b);
            });
            int keep = topK > 0 ? Math.min(topK, nz) : nz;
            int[] ri = new int[keep];
            float[] rv = new float[keep];
            for (int i = 0; i < keep; i++) {
                ri[i] = order[i];
                rv[i] = dense[base + order[i]];
            }
            idx.add(ri);
            val.add(rv);
            total += keep;
            offsets[r + 1] = total;
        }
        int[] indices = new int[total];
        float[] values = new float[total];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(idx.get(r), 0, indices, offsets[r], idx.get(r).length);
            System.arraycopy(val.get(r), 0, values, offsets[r], val.get(r).length);
        }
        return new SparseRows(offsets, indices, values);
    }
}
