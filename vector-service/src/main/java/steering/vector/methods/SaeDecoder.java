package steering.vector.methods;

/**
 * SAE decoder steering (the SAE-TS/FGAA baseline, {@code SAE-TS/src/sae_ts/baselines/analysis.py load_sae_steer}):
 * v = sum_j w_j W_dec[j, :], then v / |v|. The rows of W_dec are used directly: {@code decode(one_hot)} would add
 * b_dec, which is not a steering direction.
 */
public final class SaeDecoder {
    private SaeDecoder() {}

    /**
     * @param rows          the decoder rows of the chosen features, row-major [k, d]
     * @param weights       one weight per row
     * @param normalizeRows divide each row by its norm before weighting
     * @return the unit-norm combination
     */
    public static float[] combine(float[] rows, double[] weights, int d, boolean normalizeRows) {
        int k = weights.length;
        if (rows.length != k * d) throw new IllegalArgumentException("rows must be [" + k + ", " + d + "]");
        double[] acc = new double[d];
        for (int r = 0; r < k; r++) {
            double w = weights[r];
            if (normalizeRows) {
                double n = Vec.rowNorm(rows, r, d);
                if (!(n > 0)) throw new Vec.ZeroVectorException("decoder row " + r + " is zero");
                w /= n;
            }
            for (int i = 0; i < d; i++) acc[i] += w * rows[r * d + i];
        }
        float[] v = new float[d];
        for (int i = 0; i < d; i++) v[i] = (float) acc[i];
        return Vec.unit(v);
    }
}
