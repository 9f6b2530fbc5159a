package steering.model.runtime;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API body of {@link Int8Kernels}. Per block of 32 weights: byte loads widened to floats, multiplied by
 * x, summed, and added into the row's accumulator with the block's scale (one FMA); one horizontal sum per row. Two
 * rows at a time share the loads of x. Loaded only when the JVM has the jdk.incubator.vector module.
 */
final class Int8VectorKernel {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = F.length();
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
    private static final int PER_BLOCK = Int8Matrix.BLOCK / LANES;

    private Int8VectorKernel() {}

    static void rows(byte[] q, float[] scales, float[] x, float[] y, int cols, int from, int to) {
        if (PER_BLOCK * LANES != Int8Matrix.BLOCK) { // a vector wider than a block (no such CPU today)
            Int8Kernels.scalarRows(q, scales, x, y, cols, from, to);
            return;
        }
        int blocks = cols / Int8Matrix.BLOCK;
        int r = from;
        for (; r + 1 < to; r += 2) {
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            int row0 = r * cols;
            int row1 = row0 + cols;
            int s0 = r * blocks;
            int s1 = s0 + blocks;
            for (int b = 0; b < blocks; b++) {
                int xo = b * Int8Matrix.BLOCK;
                FloatVector p0 = FloatVector.zero(F);
                FloatVector p1 = FloatVector.zero(F);
                for (int v = 0; v < PER_BLOCK; v++) {
                    FloatVector xv = FloatVector.fromArray(F, x, xo + v * LANES);
                    p0 = p0.add(widen(q, row0 + xo + v * LANES).mul(xv));
                    p1 = p1.add(widen(q, row1 + xo + v * LANES).mul(xv));
                }
                acc0 = p0.fma(FloatVector.broadcast(F, scales[s0 + b]), acc0);
                acc1 = p1.fma(FloatVector.broadcast(F, scales[s1 + b]), acc1);
            }
            y[r] = acc0.reduceLanes(VectorOperators.ADD);
            y[r + 1] = acc1.reduceLanes(VectorOperators.ADD);
        }
        for (; r < to; r++) {
            FloatVector acc = FloatVector.zero(F);
            int row = r * cols;
            for (int b = 0; b < blocks; b++) {
                int xo = b * Int8Matrix.BLOCK;
                FloatVector p = FloatVector.zero(F);
                for (int v = 0; v < PER_BLOCK; v++) {
                    p = p.add(widen(q, row + xo + v * LANES).mul(FloatVector.fromArray(F, x, xo + v * LANES)));
                }
                acc = p.fma(FloatVector.broadcast(F, scales[r * blocks + b]), acc);
            }
            y[r] = acc.reduceLanes(VectorOperators.ADD);
        }
    }

    private static FloatVector widen(byte[] q, int offset) {
        return (FloatVector) ByteVector.fromArray(B, q, offset).convertShape(VectorOperators.B2F, F, 0);
    }
}
