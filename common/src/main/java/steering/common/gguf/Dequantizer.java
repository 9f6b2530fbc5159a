package steering.common.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Converts ggml tensor data to float32.
 *
 * <p>The block layouts follow ggml's {@code ggml-common.h} as described by the GGUF specification; the
 * arithmetic is done in float32 in the same order as ggml's reference {@code dequantize_row_*} functions, so
 * the results are bit-identical to ggml's and to the {@code gguf} Python package's numpy implementation.
 */
public final class Dequantizer {

    private static final int QK_K = 256;

    /** float value of every IEEE half-precision bit pattern. */
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];

    static {
        for (int h = 0; h < HALF_TO_FLOAT.length; h++) {
            HALF_TO_FLOAT[h] = convertHalf(h);
        }
    }

    private Dequantizer() {
    }

    /**
     * Dequantizes {@code count} elements of {@code type} from {@code src} into {@code dst[dstOffset ..]}.
     *
     * <p>Reads from {@code src.position()} and, on success, advances the position past the bytes consumed.
     * The data is read little-endian whatever {@code src.order()} is.
     *
     * @throws IllegalArgumentException if the type is not {@link GgmlType#supported() supported}, if
     *                                  {@code count} is negative or not a multiple of the block size, or if
     *                                  {@code src} has fewer bytes remaining than the elements take
     * @throws IndexOutOfBoundsException if {@code dst} is too small
     */
    public static void dequantize(GgmlType type, ByteBuffer src, float[] dst, int dstOffset, int count) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        if (!type.supported()) {
            throw new IllegalArgumentException("dequantization of ggml type " + type + " is not supported");
        }
        if (count < 0 || count % type.blockSize() != 0) {
            throw new IllegalArgumentException(
                    "count " + count + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        Objects.checkFromIndexSize(dstOffset, count, dst.length);
        long bytes = (long) (count / type.blockSize()) * type.typeSize();
        if (bytes > src.remaining()) {
            throw new IllegalArgumentException(count + " elements of " + type + " need " + bytes
                    + " bytes but only " + src.remaining() + " remain");
        }
        int nBytes = (int) bytes;
        ByteBuffer b = src.slice().order(ByteOrder.LITTLE_ENDIAN);
        int nb = count / type.blockSize();
        switch (type) {
            case F32 -> b.asFloatBuffer().get(dst, dstOffset, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = HALF_TO_FLOAT[b.getShort(2 * i) & 0xFFFF];
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
                }
            }
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = (float) b.getDouble(8 * i);
                }
            }
            case I8 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = b.get(i);
                }
            }
            case I16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = b.getShort(2 * i);
                }
            }
            case I32 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = (float) b.getInt(4 * i);
                }
            }
            case I64 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = (float) b.getLong(8 * i);
                }
            }
            case Q4_0 -> q4_0(b, nb, dst, dstOffset);
            case Q4_1 -> q4_1(b, nb, dst, dstOffset);
            case Q5_0 -> q5_0(b, nb, dst, dstOffset);
            case Q5_1 -> q5_1(b, nb, dst, dstOffset);
            case Q8_0 -> q8_0(b, nb, dst, dstOffset);
            case Q2_K -> q2_k(b, nb, dst, dstOffset);
            case Q3_K -> q3_k(b, nb, dst, dstOffset);
            case Q4_K -> q4_k(b, nb, dst, dstOffset);
            case Q5_K -> q5_k(b, nb, dst, dstOffset);
            case Q6_K -> q6_k(b, nb, dst, dstOffset);
            case Q8_K -> q8_k(b, nb, dst, dstOffset);
            default -> throw new IllegalArgumentException("dequantization of ggml type " + type + " is not supported");
        }
        src.position(src.position() + nBytes);
    }

    /** Converts an IEEE 754 half-precision bit pattern (low 16 bits of {@code bits}) to float. */
    public static float halfToFloat(int bits) {
        return HALF_TO_FLOAT[bits & 0xFFFF];
    }

    private static float convertHalf(int h) {
        int sign = (h >>> 15) & 1;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0) {
            // zero or subnormal: mant * 2^-24, exact in float
            float v = mant * 0x1.0p-24f;
            return sign != 0 ? -v : v;
        }
        int bits;
        if (exp == 0x1F) {
            bits = 0x7F800000 | (mant << 13); // infinity or NaN (payload kept)
        } else {
            bits = ((exp - 15 + 127) << 23) | (mant << 13);
        }
        return Float.intBitsToFloat((sign << 31) | bits);
    }

    private static float half(ByteBuffer b, int index) {
        return HALF_TO_FLOAT[b.getShort(index) & 0xFFFF];
    }

    // ---- 32-element blocks -------------------------------------------------------------------------------

    private static void q4_0(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 18, o += 32) {
            float d = half(b, p);
            for (int j = 0; j < 16; j++) {
                int x = b.get(p + 2 + j);
                y[o + j] = ((x & 0x0F) - 8) * d;
                y[o + j + 16] = (((x >> 4) & 0x0F) - 8) * d;
            }
        }
    }

    private static void q4_1(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 20, o += 32) {
            float d = half(b, p);
            float m = half(b, p + 2);
            for (int j = 0; j < 16; j++) {
                int x = b.get(p + 4 + j);
                y[o + j] = (x & 0x0F) * d + m;
                y[o + j + 16] = ((x >> 4) & 0x0F) * d + m;
            }
        }
    }

    private static void q5_0(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 22, o += 32) {
            float d = half(b, p);
            int qh = b.getInt(p + 2);
            for (int j = 0; j < 16; j++) {
                int x = b.get(p + 6 + j);
                int h0 = ((qh >>> j) & 1) << 4;
                int h1 = ((qh >>> (j + 16)) & 1) << 4;
                y[o + j] = (((x & 0x0F) | h0) - 16) * d;
                y[o + j + 16] = ((((x >> 4) & 0x0F) | h1) - 16) * d;
            }
        }
    }

    private static void q5_1(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 24, o += 32) {
            float d = half(b, p);
            float m = half(b, p + 2);
            int qh = b.getInt(p + 4);
            for (int j = 0; j < 16; j++) {
                int x = b.get(p + 8 + j);
                int h0 = ((qh >>> j) & 1) << 4;
                int h1 = ((qh >>> (j + 16)) & 1) << 4;
                y[o + j] = ((x & 0x0F) | h0) * d + m;
                y[o + j + 16] = (((x >> 4) & 0x0F) | h1) * d + m;
            }
        }
    }

    private static void q8_0(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += 34, o += 32) {
            float d = half(b, p);
            for (int j = 0; j < 32; j++) {
                y[o + j] = b.get(p + 2 + j) * d;
            }
        }
    }

    // ---- 256-element super-blocks (k-quants) -------------------------------------------------------------

    /** block_q2_K: uint8 scales[16] (low nibble scale, high nibble min), uint8 qs[64], half d, half dmin. */
    private static void q2_k(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += GgmlType.Q2_K.typeSize(), o += QK_K) {
            float d = half(b, p + 80);
            float dmin = half(b, p + 82);
            int is = 0;
            int yo = o;
            for (int n = 0; n < 2; n++) {
                int q = p + 16 + 32 * n;
                for (int shift = 0; shift < 8; shift += 2) {
                    for (int half = 0; half < 2; half++) {
                        int sc = b.get(p + is++) & 0xFF;
                        float dl = d * (sc & 0x0F);
                        float ml = dmin * (sc >> 4);
                        int qq = q + 16 * half;
                        for (int l = 0; l < 16; l++) {
                            y[yo++] = dl * ((b.get(qq + l) >> shift) & 3) - ml;
                        }
                    }
                }
            }
        }
    }

    /** block_q3_K: uint8 hmask[32], uint8 qs[64], uint8 scales[12] (16 packed 6-bit scales), half d. */
    private static void q3_k(ByteBuffer b, int nb, float[] y, int o) {
        int[] scales = new int[16];
        for (int i = 0, p = 0; i < nb; i++, p += GgmlType.Q3_K.typeSize(), o += QK_K) {
            float d = half(b, p + 108);
            int s = p + 96;
            for (int k = 0; k < 16; k++) {
                int low = k < 8 ? b.get(s + k) & 0x0F : (b.get(s + k - 8) >> 4) & 0x0F;
                int high = (b.get(s + 8 + (k & 3)) >> (2 * (k >> 2))) & 3;
                scales[k] = (low | (high << 4)) - 32;
            }
            int is = 0;
            int yo = o;
            int bit = 0;
            for (int n = 0; n < 2; n++) {
                int q = p + 32 + 32 * n;
                for (int shift = 0; shift < 8; shift += 2, bit++) {
                    for (int half = 0; half < 2; half++) {
                        float dl = d * scales[is++];
                        int off = 16 * half;
                        for (int l = 0; l < 16; l++) {
                            int lo = (b.get(q + off + l) >> shift) & 3;
                            int hi = (b.get(p + off + l) >> bit) & 1;
                            y[yo++] = dl * (lo - (hi != 0 ? 0 : 4));
                        }
                    }
                }
            }
        }
    }

    /**
     * Unpacks the 8 six-bit scales and 8 six-bit mins of a Q4_K/Q5_K super-block (12 bytes at {@code s}).
     */
    private static void scaleMinK4(ByteBuffer b, int s, int[] sc, int[] mn) {
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                sc[j] = b.get(s + j) & 63;
                mn[j] = b.get(s + j + 4) & 63;
            } else {
                int hi = b.get(s + j + 4) & 0xFF;
                sc[j] = (hi & 0x0F) | (((b.get(s + j - 4) & 0xFF) >> 6) << 4);
                mn[j] = (hi >> 4) | (((b.get(s + j) & 0xFF) >> 6) << 4);
            }
        }
    }

    /** block_q4_K: half d, half dmin, uint8 scales[12], uint8 qs[128]. */
    private static void q4_k(ByteBuffer b, int nb, float[] y, int o) {
        int[] sc = new int[8];
        int[] mn = new int[8];
        for (int i = 0, p = 0; i < nb; i++, p += GgmlType.Q4_K.typeSize(), o += QK_K) {
            float d = half(b, p);
            float dmin = half(b, p + 2);
            scaleMinK4(b, p + 4, sc, mn);
            for (int c = 0; c < 4; c++) {
                float d1 = d * sc[2 * c];
                float m1 = dmin * mn[2 * c];
                float d2 = d * sc[2 * c + 1];
                float m2 = dmin * mn[2 * c + 1];
                int q = p + 16 + 32 * c;
                int yo = o + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int x = b.get(q + l);
                    y[yo + l] = d1 * (x & 0x0F) - m1;
                    y[yo + 32 + l] = d2 * ((x >> 4) & 0x0F) - m2;
                }
            }
        }
    }

    /** block_q5_K: half d, half dmin, uint8 scales[12], uint8 qh[32], uint8 qs[128]. */
    private static void q5_k(ByteBuffer b, int nb, float[] y, int o) {
        int[] sc = new int[8];
        int[] mn = new int[8];
        for (int i = 0, p = 0; i < nb; i++, p += GgmlType.Q5_K.typeSize(), o += QK_K) {
            float d = half(b, p);
            float dmin = half(b, p + 2);
            scaleMinK4(b, p + 4, sc, mn);
            int qh = p + 16;
            for (int c = 0; c < 4; c++) {
                float d1 = d * sc[2 * c];
                float m1 = dmin * mn[2 * c];
                float d2 = d * sc[2 * c + 1];
                float m2 = dmin * mn[2 * c + 1];
                int q = p + 48 + 32 * c;
                int yo = o + 64 * c;
                for (int l = 0; l < 32; l++) {
                    int x = b.get(q + l);
                    int h = b.get(qh + l);
                    int h0 = ((h >> (2 * c)) & 1) << 4;
                    int h1 = ((h >> (2 * c + 1)) & 1) << 4;
                    y[yo + l] = d1 * ((x & 0x0F) | h0) - m1;
                    y[yo + 32 + l] = d2 * (((x >> 4) & 0x0F) | h1) - m2;
                }
            }
        }
    }

    /** block_q6_K: uint8 ql[128], uint8 qh[64], int8 scales[16], half d. */
    private static void q6_k(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += GgmlType.Q6_K.typeSize(), o += QK_K) {
            float d = half(b, p + 208);
            for (int n = 0; n < 2; n++) {
                int ql = p + 64 * n;
                int qh = p + 128 + 32 * n;
                int sc = p + 192 + 8 * n;
                int yo = o + 128 * n;
                for (int l = 0; l < 32; l++) {
                    int is = l >> 4;
                    int lo0 = b.get(ql + l);
                    int lo1 = b.get(ql + l + 32);
                    int h = b.get(qh + l);
                    int q1 = ((lo0 & 0x0F) | ((h & 3) << 4)) - 32;
                    int q2 = ((lo1 & 0x0F) | (((h >> 2) & 3) << 4)) - 32;
                    int q3 = (((lo0 >> 4) & 0x0F) | (((h >> 4) & 3) << 4)) - 32;
                    int q4 = (((lo1 >> 4) & 0x0F) | (((h >> 6) & 3) << 4)) - 32;
                    y[yo + l] = d * b.get(sc + is) * q1;
                    y[yo + l + 32] = d * b.get(sc + is + 2) * q2;
                    y[yo + l + 64] = d * b.get(sc + is + 4) * q3;
                    y[yo + l + 96] = d * b.get(sc + is + 6) * q4;
                }
            }
        }
    }

    /** block_q8_K: float32 d, int8 qs[256], int16 bsums[16] (sums are not needed to dequantize). */
    private static void q8_k(ByteBuffer b, int nb, float[] y, int o) {
        for (int i = 0, p = 0; i < nb; i++, p += GgmlType.Q8_K.typeSize(), o += QK_K) {
            float d = b.getFloat(p);
            for (int j = 0; j < QK_K; j++) {
                y[o + j] = d * b.get(p + 4 + j);
            }
        }
    }
}
