package steering.common.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class DequantizerTest {

    @Test
    void halfToFloat() {
        assertEquals(0f, Dequantizer.halfToFloat(0x0000));
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(Dequantizer.halfToFloat(0x8000)));
        assertEquals(1f, Dequantizer.halfToFloat(0x3C00));
        assertEquals(-2f, Dequantizer.halfToFloat(0xC000));
        assertEquals(0.5f, Dequantizer.halfToFloat(0x3800));
        assertEquals(65504f, Dequantizer.halfToFloat(0x7BFF));
        assertEquals(0x1.0p-24f, Dequantizer.halfToFloat(0x0001), "smallest subnormal");
        assertEquals(0x1.ff8p-15f, Dequantizer.halfToFloat(0x03FF), "largest subnormal");
        assertEquals(0x1.0p-14f, Dequantizer.halfToFloat(0x0400), "smallest normal");
        assertEquals(Float.POSITIVE_INFINITY, Dequantizer.halfToFloat(0x7C00));
        assertEquals(Float.NEGATIVE_INFINITY, Dequantizer.halfToFloat(0xFC00));
        assertTrue(Float.isNaN(Dequantizer.halfToFloat(0x7E00)));
    }

    @Test
    void q8_0BlockByHand() {
        // one block: d = 0.5 (0x3800), q = -16 .. 15
        ByteBuffer b = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0x3800);
        for (int i = 0; i < 32; i++) {
            b.put((byte) (i - 16));
        }
        b.flip();
        float[] out = new float[32];
        Dequantizer.dequantize(GgmlType.Q8_0, b, out, 0, 32);
        for (int i = 0; i < 32; i++) {
            assertEquals((i - 16) * 0.5f, out[i]);
        }
        assertEquals(34, b.position(), "position advanced past the block");
    }

    @Test
    void q4_0NibbleOrder() {
        // low nibbles are elements 0..15, high nibbles 16..31
        ByteBuffer b = ByteBuffer.allocate(18).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0x3C00);
        for (int i = 0; i < 16; i++) {
            b.put((byte) ((15 - i) << 4 | i));
        }
        b.flip();
        float[] out = new float[32];
        Dequantizer.dequantize(GgmlType.Q4_0, b, out, 0, 32);
        for (int i = 0; i < 16; i++) {
            assertEquals(i - 8, out[i]);
            assertEquals(15 - i - 8, out[16 + i]);
        }
    }

    @Test
    void readsLittleEndianWhateverTheBufferOrderAndHonoursOffsets() {
        ByteBuffer b = ByteBuffer.allocate(3 + 8).order(ByteOrder.BIG_ENDIAN);
        b.position(3);
        b.put((byte) 0x00).put((byte) 0x3C); // 1.0 as little-endian half
        b.put((byte) 0x00).put((byte) 0xC0); // -2.0
        b.put((byte) 0x00).put((byte) 0x00);
        b.put((byte) 0x00).put((byte) 0x7C); // +inf
        b.position(3);
        float[] out = {9, 9, 9, 9, 9, 9};
        Dequantizer.dequantize(GgmlType.F16, b, out, 1, 4);
        assertArrayEquals(new float[] {9, 1, -2, 0, Float.POSITIVE_INFINITY, 9}, out);
        assertEquals(11, b.position());
        assertEquals(ByteOrder.BIG_ENDIAN, b.order(), "caller's buffer order untouched");
    }

    @Test
    void f32AndBf16() {
        ByteBuffer b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(1.5f).putFloat(-3.25f).putShort((short) 0x3FC0).putShort((short) 0xC040);
        b.flip();
        float[] out = new float[4];
        Dequantizer.dequantize(GgmlType.F32, b, out, 0, 2);
        Dequantizer.dequantize(GgmlType.BF16, b, out, 2, 2);
        assertArrayEquals(new float[] {1.5f, -3.25f, 1.5f, -3f}, out);
        assertFalse(b.hasRemaining());
    }

    @Test
    void rejectsBadArguments() {
        ByteBuffer b = ByteBuffer.allocate(64);
        float[] out = new float[64];
        assertThrows(IllegalArgumentException.class, () -> Dequantizer.dequantize(GgmlType.Q8_0, b, out, 0, 16),
                "not a whole block");
        assertThrows(IllegalArgumentException.class, () -> Dequantizer.dequantize(GgmlType.Q8_0, b, out, 0, 64),
                "too few bytes");
        assertThrows(IllegalArgumentException.class, () -> Dequantizer.dequantize(GgmlType.IQ2_XS, b, out, 0, 0),
                "unsupported");
        assertThrows(IndexOutOfBoundsException.class, () -> Dequantizer.dequantize(GgmlType.F32, b, out, 60, 8));
        assertEquals(0, b.position(), "nothing consumed on failure");
    }

    @Test
    void typeTable() {
        assertEquals(GgmlType.Q4_K, GgmlType.fromId(12));
        assertEquals(GgmlType.BF16, GgmlType.fromId(30));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.fromId(4));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.fromId(-1));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.fromId(1000));
        assertEquals(144, GgmlType.Q4_K.typeSize());
        assertEquals(176, GgmlType.Q5_K.typeSize());
        assertEquals(210, GgmlType.Q6_K.typeSize());
        assertEquals(84, GgmlType.Q2_K.typeSize());
        assertEquals(110, GgmlType.Q3_K.typeSize());
        assertEquals(292, GgmlType.Q8_K.typeSize());
        assertEquals(256, GgmlType.Q6_K.blockSize());
        for (GgmlType t : GgmlType.values()) {
            assertEquals(t, GgmlType.fromId(t.id()));
        }
    }

    @Test
    void largeTensorDequantizesQuickly() {
        // 8M elements of Q4_1 (about a sixteenth of a 135M-parameter model); a smoke test, not a benchmark
        int n = 8 << 20;
        ByteBuffer b = ByteBuffer.allocateDirect(n / 32 * 20).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n / 32; i++) {
            b.putShort(i * 20, (short) 0x2E66);
            b.putShort(i * 20 + 2, (short) 0xAE66);
        }
        float[] out = new float[n];
        long t0 = System.nanoTime();
        for (int rep = 0; rep < 3; rep++) {
            b.position(0);
            Dequantizer.dequantize(GgmlType.Q4_1, b, out, 0, n);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 20_000, "3 x 8M Q4_1 elements took " + ms + " ms");
        assertEquals(-Dequantizer.halfToFloat(0x2E66), out[n - 1]);
    }
}
