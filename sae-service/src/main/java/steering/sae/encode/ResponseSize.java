package steering.sae.encode;

/** The largest dense answer sae-service builds: beyond it a caller is told to ask for less (top_k, fewer features). */
public final class ResponseSize {
    private ResponseSize() {}

    public static final long MAX_BYTES = 64L << 20;

    /** Whether {@code rows x width} floats exceed {@link #MAX_BYTES}. */
    public static boolean exceeded(long rows, long width) {
        return rows * width * 4 > MAX_BYTES;
    }

    /** The limit as the messages state it ("64 MiB"). */
    public static String limit() {
        return (MAX_BYTES >> 20) + " MiB";
    }
}
