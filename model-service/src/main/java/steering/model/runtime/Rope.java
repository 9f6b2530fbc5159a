package steering.model.runtime;

/** Rotary position embedding tables in the rotate-half convention (Hugging Face Llama). */
final class Rope {
    private Rope() {}

    /** cos and sin, each row-major [context, head_dim], with the half-dimension frequencies repeated twice. */
    static float[][] tables(ModelConfig cfg) {
        return tables(cfg.headDim(), cfg.contextLength(), cfg.ropeTheta(), cfg.ropeScaling(), 1.0);
    }

    /**
     * The same for an explicit base: Gemma 3 uses one base for its local layers and another, possibly with linear
     * position scaling ({@code linearFactor} > 1 divides every frequency), for its global layers.
     */
    static float[][] tables(int hd, int ctx, double theta, ModelConfig.Llama3RopeScaling scaling, double linearFactor) {
        int half = hd / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / hd);
        if (scaling != null) llama3Scale(inv, scaling);
        if (linearFactor != 1.0) for (int i = 0; i < half; i++) inv[i] /= linearFactor;
        float[] cos = new float[ctx * hd];
        float[] sin = new float[ctx * hd];
        for (int p = 0; p < ctx; p++) {
            for (int i = 0; i < half; i++) {
                // float32 angle as PyTorch computes it (positions x inv_freq in float32), so long contexts match
                float angle = (float) p * (float) inv[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[p * hd + i] = c;
                cos[p * hd + i + half] = c;
                sin[p * hd + i] = s;
                sin[p * hd + i + half] = s;
            }
        }
        return new float[][]{cos, sin};
    }

    /** Llama 3.1's scaling: long wavelengths divided by factor, short kept, a smooth blend in between. */
    private static void llama3Scale(double[] inv, ModelConfig.Llama3RopeScaling s) {
        double lowWavelen = s.originalMaxPositions() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositions() / s.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowWavelen) {
                inv[i] = inv[i] / s.factor();
            } else if (wavelen >= highWavelen) {
                double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor())
                        / (s.highFreqFactor() - s.lowFreqFactor());
                inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
            }
        }
    }

    /** R with x @ R = cat(-x[half:], x[:half]). */
    static float[] rotateHalfMatrix(int hd) {
        int half = hd / 2;
        float[] r = new float[hd * hd];
        for (int j = 0; j < half; j++) {
            r[(j + half) * hd + j] = -1f;   // out[j] = -x[j + half]
            r[j * hd + j + half] = 1f;      // out[j + half] = x[j]
        }
        return r;
    }
}
