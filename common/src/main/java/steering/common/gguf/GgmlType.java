package steering.common.gguf;

/**
 * Tensor element types of ggml / GGUF, with their numeric ids as stored in a GGUF file.
 *
 * <p>{@link #blockSize()} is the number of elements in one quantization block and {@link #typeSize()}
 * the number of bytes of one block (for plain types the block is a single element). Ids 4, 5, 31-33 and
 * 36-38 were used by types that ggml has since removed; they are not listed, and {@link #fromId(int)}
 * rejects them like any unknown id.
 *
 * <p>{@link #supported()} tells whether {@link Dequantizer} can turn the type into float32. Q8_1 is listed
 * but not supported: it is an intermediate type of ggml's dot products that no GGUF file stores, and its
 * block size has changed over time (ggml: 36 bytes; older tables: 40), so it is refused rather than guessed.
 */
public enum GgmlType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    Q4_0(2, 32, 2 + 16, true),
    Q4_1(3, 32, 2 + 2 + 16, true),
    Q5_0(6, 32, 2 + 4 + 16, true),
    Q5_1(7, 32, 2 + 2 + 4 + 16, true),
    Q8_0(8, 32, 2 + 32, true),
    Q8_1(9, 32, 2 + 2 + 32, false),
    Q2_K(10, 256, 256 / 16 + 256 / 4 + 2 + 2, true),
    Q3_K(11, 256, 256 / 8 + 256 / 4 + 12 + 2, true),
    Q4_K(12, 256, 2 + 2 + 12 + 256 / 2, true),
    Q5_K(13, 256, 2 + 2 + 12 + 256 / 8 + 256 / 2, true),
    Q6_K(14, 256, 256 / 2 + 256 / 4 + 256 / 16 + 2, true),
    Q8_K(15, 256, 4 + 256 + 2 * 256 / 16, true),
    IQ2_XXS(16, 256, 2 + 256 / 4, false),
    IQ2_XS(17, 256, 2 + 256 / 4 + 256 / 32, false),
    IQ3_XXS(18, 256, 2 + 256 / 4 + 256 / 8, false),
    IQ1_S(19, 256, 2 + 256 / 8 + 256 / 16, false),
    IQ4_NL(20, 32, 2 + 16, false),
    IQ3_S(21, 256, 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4, false),
    IQ2_S(22, 256, 2 + 256 / 4 + 256 / 16, false),
    IQ4_XS(23, 256, 2 + 2 + 256 / 2 + 256 / 64, false),
    I8(24, 1, 1, true),
    I16(25, 1, 2, true),
    I32(26, 1, 4, true),
    I64(27, 1, 8, true),
    F64(28, 1, 8, true),
    IQ1_M(29, 256, 256 / 8 + 256 / 16 + 256 / 32, false),
    BF16(30, 1, 2, true),
    TQ1_0(34, 256, 2 + 4 * 13, false),
    TQ2_0(35, 256, 2 + 64, false),
    MXFP4(39, 32, 1 + 16, false),
    NVFP4(40, 64, 4 + 32, false),
    Q1_0(41, 128, 2 + 16, false);

    private static final GgmlType[] BY_ID;

    static {
        int max = 0;
        for (GgmlType t : values()) {
            max = Math.max(max, t.id);
        }
        BY_ID = new GgmlType[max + 1];
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int typeSize;
    private final boolean supported;

    GgmlType(int id, int blockSize, int typeSize, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
        this.supported = supported;
    }

    /** The numeric id stored in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** Whether {@link Dequantizer} can convert this type to float32. */
    public boolean supported() {
        return supported;
    }

    /** Whether this type is quantized in blocks of more than one element. */
    public boolean quantized() {
        return blockSize > 1;
    }

    /**
     * Bytes taken by {@code elements} elements of this type.
     *
     * @throws IllegalArgumentException if {@code elements} is negative or not a multiple of the block size
     * @throws ArithmeticException on overflow
     */
    public long byteSize(long elements) {
        if (elements < 0 || elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    "element count " + elements + " is not a multiple of the " + name() + " block size " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) typeSize);
    }

    /**
     * The type with the given GGUF id.
     *
     * @throws IllegalArgumentException if no (current) ggml type has that id
     */
    public static GgmlType fromId(int id) {
        GgmlType t = id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
        if (t == null) {
            throw new IllegalArgumentException("unknown ggml type id " + id);
        }
        return t;
    }
}
