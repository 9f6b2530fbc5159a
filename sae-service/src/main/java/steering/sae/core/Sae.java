package steering.sae.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * A loaded SAE and its arithmetic (SAELens semantics, DJL/PyTorch doing the matrix products):
 * <pre>
 *   x'  = normalise(x) - b_dec * apply_b_dec_to_input
 *   pre = x' W_enc + b_enc
 *   f   = act(pre)                       standard: ReLU; jumprelu: ReLU(pre) 1[pre > threshold];
 *                                        topk: the k largest of pre (optionally of pre * |W_dec row|), ReLU'd
 *   x^  = denormalise(f W_dec + b_dec)
 * </pre>
 * Thread-safe: every call works in its own sub-manager; the weights are read only.
 */
public final class Sae implements AutoCloseable {
    /** Elements of one [rows, d_sae] chunk; bounds the memory of a call. */
    private static final long CHUNK_ELEMENTS = 1L << 22;
    private static final float LN_EPS = 1e-5f;

    private final SaeConfig cfg;
    private final SaeWeights weights;
    private final NDManager manager;
    private final NDArray wEnc;
    private final NDArray bEnc;
    private final NDArray wDec;
    private final NDArray bDec;
    private final NDArray threshold;
    private final NDArray decNorm;
    private final NDArray decodeScale;
    private final float[] decoderNorms;

    public Sae(SaeConfig cfg, SaeWeights w) {
        w.validate(cfg);
        this.cfg = cfg;
        this.weights = w;
        this.manager = NDManager.newBaseManager();
        int d = cfg.dIn();
        int m = cfg.dSae();
        this.wEnc = manager.create(w.wEnc(), new Shape(d, m));
        this.bEnc = manager.create(w.bEnc(), new Shape(m));
        this.wDec = manager.create(w.wDec(), new Shape(m, d));
        this.bDec = manager.create(w.bDec(), new Shape(d));
        this.threshold = w.threshold() == null ? null : manager.create(w.threshold(), new Shape(m));
        this.decodeScale = w.decodeScale() == null ? null : manager.create(w.decodeScale(), new Shape(m));
        this.decoderNorms = new float[m];
        for (int j = 0; j < m; j++) {
            double s = 0;
            for (int i = 0; i < d; i++) {
                float v = w.wDec()[j * d + i];
                s += (double) v * v;
            }
            decoderNorms[j] = (float) Math.sqrt(s);
        }
        this.decNorm = manager.create(decoderNorms, new Shape(m));
    }

    public SaeConfig config() {
        return cfg;
    }

    public SaeWeights weights() {
        return weights;
    }

    public int dIn() {
        return cfg.dIn();
    }

    public int dSae() {
        return cfg.dSae();
    }

    /** |W_dec row j| for every feature. */
    public float[] decoderNorms() {
        return decoderNorms.clone();
    }

    /** Decoder rows of the given features, [n, d_in], optionally divided by their norms. */
    public float[] directions(int[] features, boolean normalize) {
        int d = cfg.dIn();
        float[] out = new float[features.length * d];
        for (int r = 0; r < features.length; r++) {
            int j = features[r];
            float norm = normalize && decoderNorms[j] > 0 ? decoderNorms[j] : 1f;
            for (int i = 0; i < d; i++) out[r * d + i] = weights.wDec()[j * d + i] / norm;
        }
        return out;
    }

    private int chunkRows() {
        return (int) Math.max(1, CHUNK_ELEMENTS / Math.max(cfg.dSae(), cfg.dIn()));
    }

    /** Dense feature activations [rows, d_sae] of the rows x [rows, d_in]. */
    public float[] encode(float[] x, int rows) {
        checkRows(x, rows, cfg.dIn(), "x");
        float[] out = new float[Math.multiplyExact(rows, cfg.dSae())];
        if (cfg.architecture() == Architecture.BATCHTOPK && threshold == null) {
            encodeBatchTopK(x, rows, out);
            return out;
        }
        int chunk = chunkRows();
        for (int start = 0; start < rows; start += chunk) {
            int n = Math.min(chunk, rows - start);
            try (NDManager m = manager.newSubManager()) {
                NDArray pre = preActivations(slice(m, x, start, n, cfg.dIn()));
                NDArray f = activate(m, pre);
                System.arraycopy(f.toFloatArray(), 0, out, start * cfg.dSae(), n * cfg.dSae());
            }
        }
        return out;
    }

    /** Each row's top {@code topK} non-zero features (0 = all non-zero), largest first. */
    public SparseRows encodeSparse(float[] x, int rows, int topK) {
        return SparseRows.fromDense(encode(x, rows), rows, cfg.dSae(), topK);
    }

    /** f [rows, d_sae] -> f W_dec + b_dec, in the SAE's (possibly normalised) input space. */
    public float[] decode(float[] f, int rows) {
        checkRows(f, rows, cfg.dSae(), "features");
        float[] out = new float[Math.multiplyExact(rows, cfg.dIn())];
        int chunk = chunkRows();
        for (int start = 0; start < rows; start += chunk) {
            int n = Math.min(chunk, rows - start);
            try (NDManager m = manager.newSubManager()) {
                NDArray y = decodeArray(slice(m, f, start, n, cfg.dSae()));
                System.arraycopy(y.toFloatArray(), 0, out, start * cfg.dIn(), n * cfg.dIn());
            }
        }
        return out;
    }

    /** The result of {@link #reconstruct}. */
    public record Reconstruction(float[] features, float[] reconstruction) {}

    /** Encodes and decodes, undoing the per-row input normalisation. */
    public Reconstruction reconstruct(float[] x, int rows) {
        float[] f = encode(x, rows);
        float[] y = decode(f, rows);
        if (cfg.normalization().perRow()) {
            int d = cfg.dIn();
            for (int r = 0; r < rows; r++) {
                float[] ab = rowNormalisation(x, r, d);
                // normalised = x * a + b  =>  x = (normalised - b) / a
                for (int i = 0; i < d; i++) y[r * d + i] = (y[r * d + i] - ab[1]) / ab[0];
            }
        }
        return new Reconstruction(f, y);
    }

    /** Per-row normalisation as an affine map x * a + b (a, b scalars for the row). */
    private float[] rowNormalisation(float[] x, int r, int d) {
        if (cfg.normalization() == Normalization.CONSTANT_NORM_RESCALE) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double) x[r * d + i] * x[r * d + i];
            float a = (float) (Math.sqrt(d) / Math.sqrt(s));
            return new float[]{a, 0f};
        }
        double mean = 0;
        for (int i = 0; i < d; i++) mean += x[r * d + i];
        mean /= d;
        double var = 0;
        for (int i = 0; i < d; i++) var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
        double std = Math.sqrt(var / Math.max(1, d - 1));
        float a = (float) (1.0 / (std + LN_EPS));
        return new float[]{a, (float) (-mean * a)};
    }

    /** pre-activations of x (rows on the first axis); applies the input normalisation and b_dec. */
    NDArray preActivations(NDArray x) {
        NDArray in = x;
        if (cfg.normalization() == Normalization.CONSTANT_NORM_RESCALE) {
            NDArray norm = in.square().sum(new int[]{1}, true).sqrt();
            in = in.mul(Math.sqrt(cfg.dIn())).div(norm);
        } else if (cfg.normalization() == Normalization.LAYER_NORM) {
            NDArray mu = in.mean(new int[]{1}, true);
            NDArray c = in.sub(mu);
            NDArray std = c.square().sum(new int[]{1}, true).div(Math.max(1, cfg.dIn() - 1)).sqrt();
            in = c.div(std.add(LN_EPS));
        }
        if (cfg.applyBDecToInput()) in = in.sub(bDec);
        return in.matMul(wEnc).add(bEnc);
    }

    NDArray activate(NDManager m, NDArray pre) {
        return switch (cfg.architecture()) {
            case STANDARD -> pre.maximum(0f);
            case JUMPRELU, BATCHTOPK -> pre.maximum(0f).mul(pre.gt(threshold).toType(ai.djl.ndarray.types.DataType.FLOAT32, false));
            case TOPK -> {
                NDArray score = cfg.rescaleActsByDecoderNorm() ? pre.mul(decNorm) : pre;
                NDList top = score.topK(cfg.k(), 1, true, false);
                NDArray values = top.get(0).maximum(0f);
                yield m.zeros(pre.getShape()).scatter(top.get(1), values, 1);
            }
        };
    }

    private NDArray decodeArray(NDArray f) {
        NDArray in = f;
        if (decodeScale != null) in = in.mul(decodeScale);
        if (cfg.architecture() == Architecture.TOPK && cfg.rescaleActsByDecoderNorm()) in = in.div(decNorm);
        return in.matMul(wDec).add(bDec);
    }

    /** BATCHTOPK without a stored threshold: keep the k * rows largest ReLU'd pre-activations of the whole batch. */
    private void encodeBatchTopK(float[] x, int rows, float[] out) {
        int chunk = chunkRows();
        for (int start = 0; start < rows; start += chunk) {
            int n = Math.min(chunk, rows - start);
            try (NDManager m = manager.newSubManager()) {
                NDArray pre = preActivations(slice(m, x, start, n, cfg.dIn())).maximum(0f);
                System.arraycopy(pre.toFloatArray(), 0, out, start * cfg.dSae(), n * cfg.dSae());
            }
        }
        long keep = Math.min((long) cfg.k() * rows, out.length);
        if (keep >= out.length) return;
        float[] copy = out.clone();
        float cut = kthLargest(copy, (int) keep);
        // values above the cut are kept; of those equal to it, only as many as fit in the budget
        int above = 0;
        for (float v : out) if (v > cut) above++;
        int equalBudget = (int) keep - above;
        for (int i = 0; i < out.length; i++) {
            if (out[i] > cut) continue;
            if (out[i] == cut && equalBudget > 0) {
                equalBudget--;
                continue;
            }
            out[i] = 0f;
        }
    }

    /** The k-th largest value (1-based) of a, which it reorders. */
    static float kthLargest(float[] a, int k) {
        int lo = 0;
        int hi = a.length - 1;
        int target = k - 1;
        java.util.Random rnd = new java.util.Random(17);
        while (lo < hi) {
            int p = lo + rnd.nextInt(hi - lo + 1);
            float pivot = a[p];
            int lt = lo, gt = hi, i = lo;
            while (i <= gt) { // three-way partition, descending
                if (a[i] > pivot) swap(a, lt++, i++);
                else if (a[i] < pivot) swap(a, i, gt--);
                else i++;
            }
            if (target < lt) hi = lt - 1;
            else if (target > gt) lo = gt + 1;
            else return pivot;
        }
        return a[target];
    }

    private static void swap(float[] a, int i, int j) {
        float t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    private static NDArray slice(NDManager m, float[] data, int startRow, int rows, int width) {
        float[] part = new float[rows * width];
        System.arraycopy(data, startRow * width, part, 0, rows * width);
        return m.create(part, new Shape(rows, width));
    }

    private static void checkRows(float[] a, int rows, int width, String what) {
        if (rows < 0 || (long) rows * width != a.length) {
            throw new IllegalArgumentException(what + " has " + a.length + " values, not " + rows + " rows of " + width);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
