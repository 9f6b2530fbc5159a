package steering.model.runtime;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs {@link Int8Matrix} products: with the Vector API (module jdk.incubator.vector, which the services start with)
 * when the JVM has it, else a scalar loop that gives the same sums in the same order per block. Large matrices are
 * split by rows between the calling thread and one worker per further core.
 */
final class Int8Kernels {
    /** Below this many weights the hand-off to another thread costs more than it saves. */
    private static final long PARALLEL_MIN = 1L << 20;
    private static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.getBoolean("steering.int8.scalar");
    private static final int THREADS = Integer.getInteger("steering.int8.threads",
            Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 8)));
    private static final ExecutorService WORKERS = THREADS == 1 ? null : Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(r, "int8-matmul");
        t.setDaemon(true);
        return t;
    });

    private Int8Kernels() {}

    /** Whether the vectorized kernel is in use (else the scalar fallback). */
    static boolean vectorized() {
        return VECTOR;
    }

    static void multiply(Int8Matrix m, float[] x, float[] y) {
        int rows = m.rows();
        if (WORKERS == null || (long) rows * m.cols() < PARALLEL_MIN) {
            rows(m, x, y, 0, rows);
            return;
        }
        int parts = THREADS;
        Future<?>[] others = new Future<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int from = (int) ((long) rows * p / parts);
            int to = (int) ((long) rows * (p + 1) / parts);
            others[p - 1] = WORKERS.submit(() -> rows(m, x, y, from, to));
        }
        rows(m, x, y, 0, rows / parts);
        try {
            for (Future<?> f : others) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during an int8 product", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("int8 product failed", e.getCause());
        }
    }

    private static void rows(Int8Matrix m, float[] x, float[] y, int from, int to) {
        if (VECTOR) Int8VectorKernel.rows(m.quants(), m.scales(), x, y, m.cols(), from, to);
        else scalarRows(m.quants(), m.scales(), x, y, m.cols(), from, to);
    }

    static void scalarRows(byte[] q, float[] scales, float[] x, float[] y, int cols, int from, int to) {
        int blocks = cols / Int8Matrix.BLOCK;
        for (int r = from; r < to; r++) {
            float sum = 0;
            for (int b = 0; b < blocks; b++) {
                int o = r * cols + b * Int8Matrix.BLOCK;
                int xo = b * Int8Matrix.BLOCK;
                float dot = 0;
                for (int i = 0; i < Int8Matrix.BLOCK; i++) dot += q[o + i] * x[xo + i];
                sum += dot * scales[r * blocks + b];
            }
            y[r] = sum;
        }
    }
}
