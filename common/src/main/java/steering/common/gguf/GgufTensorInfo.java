package steering.common.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a GGUF file.
 *
 * @param name   tensor name
 * @param ne     ggml dimensions, fastest-varying first ({@code ne[0]} is the row length); a PyTorch
 *               {@code [out, in]} weight has {@code ne = [in, out]}
 * @param type   element type
 * @param offset absolute byte offset of the tensor's data in the file (data section start + relative offset)
 */
public record GgufTensorInfo(String name, long[] ne, GgmlType type, long offset) {

    public GgufTensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        ne = Objects.requireNonNull(ne, "ne").clone();
        for (long n : ne) {
            if (n < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(ne));
            }
        }
    }

    /** A copy of the ggml dimensions (fastest-varying first). */
    @Override
    public long[] ne() {
        return ne.clone();
    }

    /** Number of dimensions. */
    public int nDims() {
        return ne.length;
    }

    /** Product of the dimensions (1 for zero dimensions). */
    public long elementCount() {
        long n = 1;
        for (long d : ne) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The dimensions reversed, slowest-varying first, as numpy/PyTorch would report the shape. */
    public long[] shapeRowMajor() {
        long[] s = new long[ne.length];
        for (int i = 0; i < ne.length; i++) {
            s[i] = ne[ne.length - 1 - i];
        }
        return s;
    }

    /** Bytes of tensor data in the file. */
    public long byteSize() {
        return type.byteSize(elementCount());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t
                && name.equals(t.name)
                && Arrays.equals(ne, t.ne)
                && type == t.type
                && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(ne), type, offset);
    }

    @Override
    public String toString() {
        return "GgufTensorInfo[name=" + name + ", ne=" + Arrays.toString(ne) + ", type=" + type
                + ", offset=" + offset + "]";
    }
}
