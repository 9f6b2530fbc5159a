package steering.common.npz;

/**
 * One array of a NumPy {@code .npy} file (or an entry of an {@code .npz} archive), widened to float32 in C (row-major)
 * order whatever its stored dtype, byte order and memory order were.
 *
 * @param name  the entry name without ".npy" (empty for a lone .npy file)
 * @param descr the stored NumPy dtype string, e.g. "&lt;f4", "&gt;f8", "|b1"
 * @param shape the array's shape; empty for a 0-d scalar
 * @param data  the values, row-major
 */
public record NpyArray(String name, String descr, long[] shape, float[] data) {

    public long elementCount() {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    public int rank() {
        return shape.length;
    }

    /** Whether the shape equals {@code expected} exactly. */
    public boolean hasShape(long... expected) {
        return java.util.Arrays.equals(shape, expected);
    }

    public String shapeString() {
        return java.util.Arrays.toString(shape);
    }
}
