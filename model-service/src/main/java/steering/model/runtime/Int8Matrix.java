package steering.model.runtime;

/**
 * A weight matrix quantized to 8 bits in blocks of 32 along its rows (the layout of GGUF's Q8_0: each run of 32
 * weights shares one float scale, absmax / 127), multiplied by one float32 vector without ever widening the
 * matrix back to floats.
 *
 * <p>Why it exists: a single-sequence decode step reads every weight once for one row of activations, so its speed is
 * the bytes it reads. PyTorch's float16 product is compute-bound at one row on a CPU (no faster than float32), and
 * DJL reaches no weight-only int8 kernel (docs/benchmarks.md, "What DJL can reach"), so the one-row products run
 * here instead, at one byte per weight plus 1/8 for the scales. Batched steps keep PyTorch's products.
 *
 * @param quants row-major [rows, cols] int8 values
 * @param scales [rows, cols / 32] float scales
 */
public record Int8Matrix(byte[] quants, float[] scales, int rows, int cols) {
    public static final int BLOCK = 32;

    /** Whether a matrix with this many columns can be quantized (whole blocks only). */
    public static boolean fits(int cols) {
        return cols % BLOCK == 0;
    }

    /** Quantizes a row-major [rows, cols] float matrix (cols a multiple of 32). */
    public static Int8Matrix quantize(float[] rowMajor, int rows, int cols) {
        if (!fits(cols)) throw new IllegalArgumentException(cols + " columns are not whole blocks of " + BLOCK);
        if (rowMajor.length != (long) rows * cols) {
            throw new IllegalArgumentException(rowMajor.length + " values for a [" + rows + ", " + cols + "] matrix");
        }
        byte[] q = new byte[rowMajor.length];
        float[] s = new float[rowMajor.length / BLOCK];
        for (int b = 0; b < s.length; b++) {
            int o = b * BLOCK;
            float max = 0;
            for (int i = 0; i < BLOCK; i++) max = Math.max(max, Math.abs(rowMajor[o + i]));
            float scale = max / 127f;
            s[b] = scale;
            float inv = scale == 0 ? 0 : 1f / scale;
            for (int i = 0; i < BLOCK; i++) q[o + i] = (byte) Math.round(rowMajor[o + i] * inv);
        }
        return new Int8Matrix(q, s, rows, cols);
    }

    /** y = W x for one float32 vector x of length cols; y has length rows. */
    public float[] multiply(float[] x) {
        if (x.length != cols) throw new IllegalArgumentException("x has " + x.length + " values, expected " + cols);
        float[] y = new float[rows];
        Int8Kernels.multiply(this, x, y);
        return y;
    }

    /** The matrix back in floats (tests and error reports). */
    public float[] dequantize() {
        float[] out = new float[quants.length];
        for (int i = 0; i < out.length; i++) out[i] = quants[i] * scales[i / BLOCK];
        return out;
    }

    public long bytes() {
        return quants.length + 4L * scales.length;
    }
}
