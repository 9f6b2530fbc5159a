package steering.model.runtime;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The 8-bit product: quantization error bound, vector kernel against the scalar loop, threads, bad shapes. */
class Int8MatrixTest {
    static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    @Test
    void quantizationErrorIsBoundedByHalfAStepPerBlock() {
        int rows = 7, cols = 96;
        float[] w = gaussian(rows * cols, 1);
        w[5] = 40f; // an outlier only widens its own block's step
        Int8Matrix m = Int8Matrix.quantize(w, rows, cols);
        float[] back = m.dequantize();
        for (int i = 0; i < w.length; i++) {
            float step = m.scales()[i / Int8Matrix.BLOCK];
            assertTrue(Math.abs(back[i] - w[i]) <= step / 2 + 1e-6f, "weight " + i);
        }
        assertEquals(40f, back[5], 1e-5f, "the block's absmax is exact");
        assertEquals(rows * cols + 4L * rows * cols / 32, m.bytes());
    }

    @Test
    void productMatchesTheDequantizedMatrixAndTheScalarLoop() {
        // large enough to be split between threads, and an odd number of rows (the kernel takes rows in pairs)
        int rows = 3071, cols = 576;
        Int8Matrix m = Int8Matrix.quantize(gaussian(rows * cols, 2), rows, cols);
        float[] x = gaussian(cols, 3);
        float[] y = m.multiply(x);
        float[] back = m.dequantize();
        float[] scalar = new float[rows];
        Int8Kernels.scalarRows(m.quants(), m.scales(), x, scalar, cols, 0, rows);
        for (int r = 0; r < rows; r++) {
            double exact = 0;
            for (int c = 0; c < cols; c++) exact += (double) back[r * cols + c] * x[c];
            assertEquals(exact, y[r], 1e-3 * (1 + Math.abs(exact)), "row " + r);
            assertEquals(scalar[r], y[r], 1e-3 * (1 + Math.abs(scalar[r])), "row " + r + " scalar");
        }
        assertTrue(Int8Kernels.vectorized(), "the tests run with --add-modules jdk.incubator.vector (the parent pom's argLine)");
    }

    @Test
    void shapesThatAreNotWholeBlocksAreRefused() {
        assertFalse(Int8Matrix.fits(172));
        assertThrows(IllegalArgumentException.class, () -> Int8Matrix.quantize(new float[172 * 2], 2, 172));
        Int8Matrix m = Int8Matrix.quantize(new float[64], 2, 32);
        var e = assertThrows(IllegalArgumentException.class, () -> m.multiply(new float[31]));
        assertTrue(e.getMessage().contains("expected 32"));
    }
}
