package steering.model.runtime;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API body of {@link Int8Kernels}: per block of 32 weights, two 16-byte loads widened to floats,
 * multiplied by x and accumulated with the block's scale; one horizontal sum per row. Loaded only when the JVM has
 * the jdk.incubator.vector module.
 */
final class Int8VectorKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(LANES * 8));

    private Int8VectorKernel() {}

    static void rows(byte[] q, float[] scales, float[] x, float[] y, int cols, int from, int to) {
        int blocks = cols / Int8Matrix.BLOCK;
        int perBlock = Int8Matrix.BLOCK / LANES;
        if (perBlock * LANES != Int8Matrix.BLOCK) { // a vector wider than a block (no such CPU today)
            Int8Kernels.scalarRows(q, scales, x, y, cols, from, to);
            return;
        }
        for (int r = from; r < to; r++) {
            FloatVector acc = FloatVector.zero(F);
            int base = r * cols;
            int sb = r * blocks;
            for (int b = 0; b < blocks; b++) {
                int o = base + b * Int8Matrix.BLOCK;
                int xo = b * Int8Matrix.BLOCK;
                FloatVector dot = FloatVector.zero(F);
                for (int v = 0; v < perBlock; v++) {
                    FloatVector w = (FloatVector) ByteVector.fromArray(B, q, o + v * LANES)
                            .convertShape(VectorOperators.B2F, F, 0);
                    dot = w.fma(FloatVector.fromArray(F, x, xo + v * LANES), dot);
                }
                acc = dot.fma(FloatVector.broadcast(F, scales[sb + b]), acc);
            }
            y[r] = acc.reduceLanes(VectorOperators.ADD);
        }
    }
}
