package steering.sae.encode;

import steering.common.grpc.Errors;
import steering.common.steer.VectorShape;
import steering.common.tensor.TensorCodec;
import steering.v1.Tensor;

/** Reads a request's {@code [width] | [n, width]} tensor; every complaint names the request's field. */
final class TensorRows {
    private TensorRows() {}

    /**
     * The tensor's floats and row count (n unbounded here: callers check their row limit and say why). Values are
     * not checked yet, so a caller can report a row limit before a NaN: see {@link #checkFinite}.
     */
    static DenseRows read(Tensor t, int width, String what, String field) {
        float[] x;
        try {
            x = TensorCodec.toFloats(t);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw Errors.invalid(field, e.getMessage());
        }
        try {
            return new DenseRows(x, VectorShape.rows(t.getShapeList(), width, what));
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field, e.getMessage());
        }
    }

    static void checkFinite(float[] x, String field) {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) throw Errors.invalid(field, "element " + i + " is " + x[i] + "; values must be finite");
        }
    }
}
