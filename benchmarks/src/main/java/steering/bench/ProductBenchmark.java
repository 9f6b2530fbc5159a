package steering.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import steering.model.runtime.Int8Matrix;

import java.util.Locale;
import java.util.Random;

/**
 * The weight products alone, as the forward runs them: PyTorch's linear in float32 and float16 at several row counts,
 * and the int8 single-row product ({@link Int8Matrix}), on a stack of [3072, 576] matrices (SmolLM2's fused gate|up,
 * 30 layers: more bytes than the caches hold). Best of R interleaved repeats; prints ms per stack and the weight
 * bytes read per second. This is the evidence behind the compute-dtype choices in docs/benchmarks.md.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/lib/*' \
 *     steering.bench.ProductBenchmark [--rows 1,8,16,64,256] [--repeats 7] [--layers 30]</pre>
 */
public final class ProductBenchmark {
    public static void main(String[] args) {
        int[] rowCounts = {1, 8, 16, 64, 256};
        int repeats = 7;
        int layers = 30;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--rows" -> rowCounts = java.util.Arrays.stream(args[i + 1].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                case "--layers" -> layers = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.setProperty("ai.djl.offline", "true");
        int out = 3072;
        int in = 576;
        Random rnd = new Random(0);
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray[] w32 = new NDArray[layers];
            NDArray[] w16 = new NDArray[layers];
            Int8Matrix[] w8 = new Int8Matrix[layers];
            for (int l = 0; l < layers; l++) {
                float[] w = new float[out * in];
                for (int j = 0; j < w.length; j++) w[j] = (float) (rnd.nextGaussian() * 0.05);
                w32[l] = manager.create(w, new Shape(out, in));
                w16[l] = w32[l].toType(DataType.FLOAT16, false);
                w8[l] = Int8Matrix.quantize(w, out, in);
            }
            System.out.printf(Locale.ROOT, "%d x [%d, %d] weights; ms per stack (weight GB/s), best of %d%n%n",
                    layers, out, in, repeats);
            System.out.println("| rows | float32 linear | float16 linear | int8 (Java, 1 row) |");
            System.out.println("|---|---|---|---|");
            for (int rows : rowCounts) {
                float[] xs = new float[rows * in];
                for (int j = 0; j < xs.length; j++) xs[j] = (float) rnd.nextGaussian();
                NDArray x32 = manager.create(xs, new Shape(rows, in));
                NDArray x16 = x32.toType(DataType.FLOAT16, false);
                float[] x1 = java.util.Arrays.copyOf(xs, in);
                long best32 = Long.MAX_VALUE, best16 = Long.MAX_VALUE, best8 = Long.MAX_VALUE;
                for (int r = 0; r < repeats; r++) {
                    best32 = Math.min(best32, time(() -> stack(x32, w32)));
                    best16 = Math.min(best16, time(() -> stack(x16, w16)));
                    if (rows == 1) {
                        best8 = Math.min(best8, time(() -> {
                            for (Int8Matrix m : w8) m.multiply(x1);
                        }));
                    }
                }
                long n = (long) layers * out * in;
                System.out.printf(Locale.ROOT, "| %d | %s | %s | %s |%n", rows, cell(best32, 4 * n), cell(best16, 2 * n),
                        rows == 1 ? cell(best8, n + n / 8) : "-");
                x32.close();
                x16.close();
            }
        }
    }

    private static void stack(NDArray x, NDArray[] weights) {
        for (NDArray w : weights) {
            try (NDList y = Linear.linear(x, w, null)) {
                y.head().getShape();
            }
        }
    }

    private static long time(Runnable r) {
        long start = System.nanoTime();
        r.run();
        return System.nanoTime() - start;
    }

    private static String cell(long nanos, long bytes) {
        return String.format(Locale.ROOT, "%.2f ms (%.1f GB/s)", nanos / 1e6, bytes / (double) nanos);
    }
}
