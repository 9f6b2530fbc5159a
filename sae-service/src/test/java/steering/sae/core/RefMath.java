package steering.sae.core;

import java.util.Arrays;

/** Plain-loop SAE arithmetic, written independently of {@link Sae}, to check it against. */
public final class RefMath {
    private RefMath() {}

    public static float[] encode(SaeConfig c, SaeWeights w, float[] x, int n) {
        int d = c.dIn(), m = c.dSae();
        float[] out = new float[n * m];
        double[] norms = decNorms(w, d, m);
        for (int r = 0; r < n; r++) {
            double[] in = new double[d];
            for (int i = 0; i < d; i++) in[i] = x[r * d + i];
            normalise(c, in);
            if (c.applyBDecToInput()) for (int i = 0; i < d; i++) in[i] -= w.bDec()[i];
            double[] pre = new double[m];
            for (int j = 0; j < m; j++) {
                double s = w.bEnc()[j];
                for (int i = 0; i < d; i++) s += in[i] * w.wEnc()[i * m + j];
                pre[j] = s;
            }
            switch (c.architecture()) {
                case STANDARD -> { for (int j = 0; j < m; j++) out[r * m + j] = (float) Math.max(0, pre[j]); }
                case JUMPRELU -> { for (int j = 0; j < m; j++) out[r * m + j] = pre[j] > w.threshold()[j] ? (float) Math.max(0, pre[j]) : 0f; }
                case TOPK -> {
                    double[] score = pre.clone();
                    if (c.rescaleActsByDecoderNorm()) for (int j = 0; j < m; j++) score[j] *= norms[j];
                    Integer[] order = new Integer[m];
                    for (int j = 0; j < m; j++) order[j] = j;
                    Arrays.sort(order, (a, b) -> Double.compare(score[b], score[a]));
                    for (int t = 0; t < c.k(); t++) out[r * m + order[t]] = (float) Math.max(0, score[order[t]]);
                }
                case BATCHTOPK -> { for (int j = 0; j < m; j++) out[r * m + j] = (float) Math.max(0, pre[j]); }
            }
        }
        if (c.architecture() == Architecture.BATCHTOPK) {
            if (w.threshold() != null) {
                for (int r = 0; r < n; r++) for (int j = 0; j < m; j++) if (!(out[r * m + j] > w.threshold()[j])) out[r * m + j] = 0;
            } else {
                float[] sorted = out.clone();
                Arrays.sort(sorted);
                float cut = sorted[sorted.length - c.k() * n];
                for (int i = 0; i < out.length; i++) if (out[i] < cut) out[i] = 0;
            }
        }
        return out;
    }

    public static float[] decode(SaeConfig c, SaeWeights w, float[] f, int n) {
        int d = c.dIn(), m = c.dSae();
        double[] norms = decNorms(w, d, m);
        float[] out = new float[n * d];
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < d; i++) {
                double s = w.bDec()[i];
                for (int j = 0; j < m; j++) {
                    double a = f[r * m + j];
                    if (w.decodeScale() != null) a *= w.decodeScale()[j];
                    if (c.architecture() == Architecture.TOPK && c.rescaleActsByDecoderNorm()) a /= norms[j];
                    s += a * w.wDec()[j * d + i];
                }
                out[r * d + i] = (float) s;
            }
        }
        return out;
    }

    /** Reconstruction in the input space (the per-row normalisation undone). */
    public static float[] reconstruct(SaeConfig c, SaeWeights w, float[] x, int n) {
        int d = c.dIn();
        float[] y = decode(c, w, encode(c, w, x, n), n);
        for (int r = 0; r < n; r++) {
            double[] row = new double[d];
            for (int i = 0; i < d; i++) row[i] = x[r * d + i];
            if (c.normalization() == Normalization.CONSTANT_NORM_RESCALE) {
                double norm = 0;
                for (double v : row) norm += v * v;
                double coeff = Math.sqrt(d) / Math.sqrt(norm);
                for (int i = 0; i < d; i++) y[r * d + i] = (float) (y[r * d + i] / coeff);
            } else if (c.normalization() == Normalization.LAYER_NORM) {
                double mu = Arrays.stream(row).average().orElse(0);
                double var = 0;
                for (double v : row) var += (v - mu) * (v - mu);
                double std = Math.sqrt(var / (d - 1));
                for (int i = 0; i < d; i++) y[r * d + i] = (float) (y[r * d + i] * std + mu);
            }
        }
        return y;
    }

    private static void normalise(SaeConfig c, double[] in) {
        int d = in.length;
        if (c.normalization() == Normalization.CONSTANT_NORM_RESCALE) {
            double norm = 0;
            for (double v : in) norm += v * v;
            double coeff = Math.sqrt(d) / Math.sqrt(norm);
            for (int i = 0; i < d; i++) in[i] *= coeff;
        } else if (c.normalization() == Normalization.LAYER_NORM) {
            double mu = Arrays.stream(in).average().orElse(0);
            double var = 0;
            for (double v : in) var += (v - mu) * (v - mu);
            double std = Math.sqrt(var / (d - 1));
            for (int i = 0; i < d; i++) in[i] = (in[i] - mu) / (std + 1e-5);
        }
    }

    private static double[] decNorms(SaeWeights w, int d, int m) {
        double[] norms = new double[m];
        for (int j = 0; j < m; j++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double) w.wDec()[j * d + i] * w.wDec()[j * d + i];
            norms[j] = Math.sqrt(s);
        }
        return norms;
    }
}
