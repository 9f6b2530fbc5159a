package steering.vector.methods;

/**
 * SAE-TS (Chalnev, Siu, Conmy 2024, arXiv 2411.02193; {@code baselines/analysis.py single_step_steer}). With the
 * effect approximator e(x) = x M + b (M [d_model, d_sae]) and a target t in SAE space:
 * s = M t, beta = M b, v = unit(unit(s) - bias_scale * unit(beta)). s is the input direction that maximises the
 * predicted effect on t per unit norm; beta is the direction that most produces the generic side effect b that any
 * steering at calibrated scale has. FGAA maps its SAE-space target the same way.
 */
public final class SaeTs {
    private SaeTs() {}

    /** M t for a dense t [m]; M row-major [d, m]. */
    public static float[] mTimes(float[] mMatrix, int d, int m, float[] t) {
        if (t.length != m) throw new IllegalArgumentException("t has " + t.length + " entries, d_sae is " + m);
        float[] out = new float[d];
        for (int i = 0; i < d; i++) {
            double s = 0;
            int row = i * m;
            for (int j = 0; j < m; j++) {
                float tj = t[j];
                if (tj != 0) s += (double) mMatrix[row + j] * tj;
            }
            out[i] = (float) s;
        }
        return out;
    }

    /**
     * v = unit(unit(M t) - biasScale * unit(M b)); with biasScale 0 (or M b = 0) it is unit(M t).
     *
     * @throws Vec.ZeroVectorException when M t is zero (the target lies in M's null space)
     */
    public static float[] steer(float[] mMatrix, float[] b, int d, int m, float[] target, double biasScale) {
        float[] s = Vec.unit(mTimes(mMatrix, d, m, target));
        if (biasScale == 0) return s;
        float[] beta = mTimes(mMatrix, d, m, b);
        if (!(Vec.norm(beta) > 0)) return s;
        return Vec.unit(Vec.subScaled(s, biasScale, Vec.unit(beta)));
    }

    /** A dense target [m] from features and weights. */
    public static float[] target(int m, int[] features, double[] weights) {
        float[] t = new float[m];
        for (int i = 0; i < features.length; i++) t[features[i]] += (float) weights[i];
        return t;
    }
}
