package steering.common.tensor;

import com.google.protobuf.ByteString;
import steering.v1.DType;
import steering.v1.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Converts between the wire {@link Tensor} (shape + dtype + little-endian bytes) and float arrays. */
public final class TensorCodec {
    private TensorCodec() {}

    public static Tensor ofFloats(float[] data, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        if (n != data.length) throw new IllegalArgumentException("shape does not match " + data.length + " values");
        ByteBuffer buf = ByteBuffer.allocate(4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data);
        Tensor.Builder b = Tensor.newBuilder().setDtype(DType.FLOAT32).setData(ByteString.copyFrom(buf.array()));
        for (long s : shape) b.addShape(s);
        return b.build();
    }

    public static long elementCount(Tensor t) {
        long n = 1;
        for (long s : t.getShapeList()) {
            if (s < 0) throw new TensorFormatException("shape has a negative dimension " + s);
            try {
                n = Math.multiplyExact(n, s);
            } catch (ArithmeticException e) {
                throw new TensorFormatException("shape " + t.getShapeList() + " has more elements than a long can count");
            }
        }
        return n;
    }

    /** Decodes FLOAT32, FLOAT16 or BFLOAT16 data to float32; validates the byte length against the shape. */
    public static float[] toFloats(Tensor t) {
        long n = elementCount(t);
        int width = switch (t.getDtype()) {
            case FLOAT32 -> 4;
            case FLOAT16, BFLOAT16 -> 2;
            default -> throw new TensorFormatException("dtype " + t.getDtype() + " is not a float type (FLOAT32, FLOAT16, BFLOAT16)");
        };
        if (n * width != t.getData().size()) {
            throw new TensorFormatException("data has " + t.getData().size() + " bytes, shape " + t.getShapeList()
                    + " with " + t.getDtype() + " needs " + (n * width));
        }
        ByteBuffer buf = t.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) n];
        switch (t.getDtype()) {
            case FLOAT32 -> buf.asFloatBuffer().get(out);
            case FLOAT16 -> { for (int i = 0; i < n; i++) out[i] = HalfFloat.halfToFloat(buf.getShort()); }
            default -> { for (int i = 0; i < n; i++) out[i] = HalfFloat.bf16ToFloat(buf.getShort()); }
        }
        return out;
    }

    public static final class TensorFormatException extends IllegalArgumentException {
        public TensorFormatException(String message) {
            super(message);
        }
    }
}
