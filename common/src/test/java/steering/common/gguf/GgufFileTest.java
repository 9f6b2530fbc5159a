package steering.common.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks {@link GgufFile} against fixtures written and dequantized by the Python {@code gguf} package
 * (scripts/reference/make_gguf_fixtures.py).
 */
class GgufFileTest {

    @TempDir
    Path tmp;

    static Path resource(String name) {
        try {
            return Path.of(GgufFileTest.class.getResource("/gguf/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing test resource gguf/" + name, e);
        }
    }

    static float[] expectedValues(String file) throws IOException {
        byte[] b = Files.readAllBytes(resource(file));
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    @Test
    void metadataOfEveryValueType() throws IOException {
        try (GgufFile f = GgufFile.open(resource("fixtures.gguf"))) {
            assertEquals(3, f.version());
            Map<String, Object> m = f.metadata();
            assertEquals("general.architecture", m.keySet().iterator().next(), "insertion order kept");
            assertEquals(List.of("general.architecture", "general.name", "test.string", "test.uint8"),
                    m.keySet().stream().limit(4).toList());
            assertEquals("fixture", f.getString("general.architecture"));
            assertEquals("h\u00e9llo w\u00f6rld \u2713", f.getString("test.string"));
            assertEquals(200L, m.get("test.uint8"));
            assertEquals(-100L, m.get("test.int8"));
            assertEquals(60000L, m.get("test.uint16"));
            assertEquals(-30000L, m.get("test.int16"));
            assertEquals(4000000000L, m.get("test.uint32"));
            assertEquals(-2000000000L, m.get("test.int32"));
            assertEquals(-1L, m.get("test.uint64"), "uint64 max keeps its bits");
            assertEquals("18446744073709551615", Long.toUnsignedString(f.getLong("test.uint64", 0)));
            assertEquals(-9000000000000000000L, m.get("test.int64"));
            assertEquals((double) 0.1f, m.get("test.float32"));
            assertEquals(3.141592653589793, m.get("test.float64"));
            assertEquals(Boolean.TRUE, m.get("test.bool_true"));
            assertEquals(Boolean.FALSE, m.get("test.bool_false"));
            assertEquals(List.of(1L, -2L, 3L), m.get("test.array.int32"));
            assertEquals(List.of(0L, 255L), m.get("test.array.uint8"));
            assertEquals(List.of(0.5, -1.25), m.get("test.array.float32"));
            assertEquals(List.of("a", "bc", ""), m.get("test.array.string"));
            assertEquals(List.of(true, false, true), m.get("test.array.bool"));
            assertEquals(List.of(List.of(1L, 2L), List.of(3L)), m.get("test.array.nested"));

            assertEquals(4000000000L, f.getLong("test.uint32", 7));
            assertEquals(7, f.getLong("absent", 7));
            assertEquals(7, f.getLong("test.string", 7), "not a number: default");
            assertEquals(0.1f, (float) f.getDouble("test.float32", 0), 0f);
            assertEquals(200.0, f.getDouble("test.uint8", 0));
            assertEquals(-1.5, f.getDouble("absent", -1.5));
            assertNull(f.getString("absent"));
            assertNull(f.getString("test.uint8"));
            assertThrows(UnsupportedOperationException.class, () -> m.put("x", 1L));
            assertEquals(32, f.alignment());
        }
    }

    @Test
    void everyTensorMatchesNumpy() throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(Files.readAllBytes(resource("expected.json")));
        int checked = 0;
        for (String file : List.of("fixtures.gguf", "aligned64.gguf")) {
            JsonNode entries = manifest.get(file);
            assertNotNull(entries, file);
            try (GgufFile f = GgufFile.open(resource(file))) {
                assertEquals(entries.size(), f.tensors().size(), file);
                for (int i = 0; i < entries.size(); i++) {
                    JsonNode e = entries.get(i);
                    String name = e.get("name").asText();
                    GgufTensorInfo t = f.tensors().get(i);
                    assertEquals(name, t.name(), "file order");
                    assertEquals(t, f.tensor(name));
                    assertEquals(GgmlType.valueOf(e.get("type").asText()), t.type(), name);
                    long[] ne = new long[e.get("ne").size()];
                    for (int d = 0; d < ne.length; d++) {
                        ne[d] = e.get("ne").get(d).asLong();
                    }
                    assertArrayEquals(ne, t.ne(), name);
                    assertEquals(0, (t.offset() - f.dataOffset()) % f.alignment(), name + " aligned");
                    float[] expected = expectedValues(e.get("expected").asText());
                    assertEquals(expected.length, t.elementCount(), name);
                    float[] actual = f.readFloats(name);
                    assertBitEqual(expected, actual, file + ":" + name);
                    checked++;
                }
            }
        }
        assertEquals(23, checked);
    }

    static void assertBitEqual(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                fail(what + "[" + i + "]: expected " + expected[i] + " but was " + actual[i]);
            }
        }
    }

    @Test
    void shapes() throws IOException {
        try (GgufFile f = GgufFile.open(resource("fixtures.gguf"))) {
            GgufTensorInfo t = f.tensor("t.q4_k");
            assertArrayEquals(new long[] {256, 2}, t.ne());
            assertArrayEquals(new long[] {2, 256}, t.shapeRowMajor());
            assertEquals(512, t.elementCount());
            assertEquals(2 * 144, t.byteSize());
            GgufTensorInfo s3 = f.tensor("shape.3d");
            assertArrayEquals(new long[] {4, 3, 2}, s3.ne());
            assertArrayEquals(new long[] {2, 3, 4}, s3.shapeRowMajor());
            assertEquals(24, s3.elementCount());
            assertArrayEquals(new long[] {5}, f.tensor("shape.1d").shapeRowMajor());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4}, f.readFloats("shape.1d"));
            assertNull(f.tensor("absent"));
            IOException e = assertThrows(IOException.class, () -> f.readFloats("absent"));
            assertTrue(e.getMessage().contains("absent"), e.getMessage());
            long[] ne = t.ne();
            ne[0] = 1;
            assertEquals(256, t.ne()[0], "ne() is a copy");
        }
    }

    @Test
    void customAlignment() throws IOException {
        try (GgufFile f = GgufFile.open(resource("aligned64.gguf"))) {
            assertEquals(64, f.alignment());
            assertEquals(64L, f.metadata().get("general.alignment"));
            assertEquals(0, f.dataOffset() % 64);
            for (GgufTensorInfo t : f.tensors()) {
                assertEquals(0, t.offset() % 64, t.name());
            }
        }
    }

    @Test
    void rawDataAndPartialDequantization() throws IOException {
        try (GgufFile f = GgufFile.open(resource("fixtures.gguf"))) {
            ByteBuffer raw = f.rawData("t.q8_0");
            assertEquals(2 * 8 * 34, raw.remaining());
            // second row only: 8 blocks of 34 bytes in
            raw.position(8 * 34);
            float[] row = new float[256];
            Dequantizer.dequantize(GgmlType.Q8_0, raw, row, 0, 256);
            float[] all = f.readFloats("t.q8_0");
            assertArrayEquals(Arrays.copyOfRange(all, 256, 512), row);
        }
    }

    @Test
    void closedFileRefusesReads() throws IOException {
        GgufFile f = GgufFile.open(resource("fixtures.gguf"));
        f.close();
        f.close();
        assertThrows(IOException.class, () -> f.readFloats("t.f32"));
        assertEquals(20, f.tensors().size(), "infos stay available");
    }

    @Test
    void versionTwoIsReadVersionOneAndBigEndianAreRefused() throws IOException {
        byte[] b = Files.readAllBytes(resource("aligned64.gguf"));
        b[4] = 2;
        Path v2 = tmp.resolve("v2.gguf");
        Files.write(v2, b);
        try (GgufFile f = GgufFile.open(v2)) {
            assertEquals(2, f.version());
            assertEquals(3, f.readFloats("odd.a").length);
        }
        b[4] = 1;
        assertOpenFails(b, "version");
        b[4] = 0;
        b[7] = 3;
        assertOpenFails(b, "big-endian");
        b = Files.readAllBytes(resource("aligned64.gguf"));
        b[0] = 'X';
        assertOpenFails(b, "not a GGUF");
    }

    @Test
    void unsupportedTypeNamesTensorAndType() throws IOException {
        GgufBytes g = new GgufBytes().header(3, 2, 0);
        g.str("ok").u32(1).u64(32).u32(GgmlType.F32.id()).u64(0);
        g.str("exotic").u32(1).u64(32).u32(GgmlType.IQ4_NL.id()).u64(128);
        g.pad(32).bytes(new byte[128]).bytes(new byte[18]);
        Path p = tmp.resolve("iq.gguf");
        Files.write(p, g.toByteArray());
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(GgmlType.IQ4_NL, f.tensor("exotic").type());
            assertEquals(32, f.readFloats("ok").length);
            IOException e = assertThrows(IOException.class, () -> f.readFloats("exotic"));
            assertTrue(e.getMessage().contains("exotic") && e.getMessage().contains("IQ4_NL"), e.getMessage());
        }
    }

    @Test
    void unknownTypeIdFailsOpen() throws IOException {
        GgufBytes g = new GgufBytes().header(3, 1, 0);
        g.str("w").u32(1).u64(4).u32(99).u64(0).pad(32).bytes(new byte[64]);
        IOException e = assertOpenFails(g.toByteArray(), "99");
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
    }

    @Test
    void truncatedFilesThrowIOException() throws IOException {
        byte[] full = Files.readAllBytes(resource("fixtures.gguf"));
        long end;
        try (GgufFile f = GgufFile.open(resource("fixtures.gguf"))) {
            GgufTensorInfo last = f.tensors().get(f.tensors().size() - 1);
            end = last.offset() + last.byteSize();
            // every cut in the first 256 bytes, then every 7th byte of the header and every 61st of the data
            Path p = tmp.resolve("cut.gguf");
            for (int len = 0; len < end; len += len < 256 ? 1 : len < f.dataOffset() ? 7 : 61) {
                Files.write(p, Arrays.copyOf(full, len));
                final int l = len;
                try (GgufFile g = GgufFile.open(p)) {
                    fail("a file cut to " + l + " bytes opened");
                } catch (IOException expected) {
                    // fine
                }
            }
        }
        Path p = tmp.resolve("ok.gguf");
        Files.write(p, Arrays.copyOf(full, (int) end));
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals(5, g.readFloats("shape.1d").length, "trailing padding is optional");
        }
    }

    @Test
    void corruptHeadersNeverThrowUncheckedExceptions() throws IOException {
        byte[] full = Files.readAllBytes(resource("fixtures.gguf"));
        int headerEnd;
        try (GgufFile f = GgufFile.open(resource("fixtures.gguf"))) {
            headerEnd = (int) f.dataOffset();
        }
        Random rnd = new Random(42);
        Path p = tmp.resolve("fuzz.gguf");
        int opened = 0;
        for (int iter = 0; iter < 300; iter++) {
            byte[] b = full.clone();
            int flips = 1 + rnd.nextInt(4);
            for (int k = 0; k < flips; k++) {
                int at = 4 + rnd.nextInt(headerEnd - 4);
                b[at] = switch (rnd.nextInt(3)) {
                    case 0 -> (byte) rnd.nextInt(256);
                    case 1 -> (byte) 0xFF;
                    default -> (byte) (b[at] ^ (1 << rnd.nextInt(8)));
                };
            }
            Files.write(p, b);
            try (GgufFile f = GgufFile.open(p)) {
                opened++;
                for (GgufTensorInfo t : f.tensors()) {
                    try {
                        f.readFloats(t.name());
                    } catch (IOException expected) {
                        // unsupported type after corruption, etc.
                    }
                }
            } catch (IOException expected) {
                if (expected.getCause() instanceof RuntimeException bug) {
                    // open() wraps unchecked exceptions as a safety net; none should reach it
                    throw new AssertionError("iteration " + iter + ": parser bug " + bug, bug);
                }
            } catch (RuntimeException | OutOfMemoryError e) {
                throw new AssertionError("iteration " + iter + ": " + e, e);
            }
        }
        assertTrue(opened > 0, "some corruptions only touch values and still open");
    }

    @Test
    void hostileCountsAndLengthsAreRejectedBeforeAllocating() throws IOException {
        // metadata count far beyond the file
        assertOpenFails(new GgufBytes().header(3, 0, Long.MAX_VALUE).toByteArray(), "metadata count");
        assertOpenFails(new GgufBytes().header(3, 0, -1).toByteArray(), "metadata count");
        // tensor count far beyond the file
        assertOpenFails(new GgufBytes().header(3, 1L << 40, 0).toByteArray(), "tensor count");
        // a key of 2^62 bytes
        assertOpenFails(new GgufBytes().header(3, 0, 1).u64(1L << 62).bytes(new byte[32]).toByteArray(),
                "key length");
        // an array claiming 2^40 strings
        assertOpenFails(new GgufBytes().header(3, 0, 1).str("a").u32(9).u32(8).u64(1L << 40).toByteArray(),
                "array length");
        // an unknown value type
        assertOpenFails(new GgufBytes().header(3, 0, 1).str("a").u32(13).u32(0).toByteArray(), "value type");
        // arrays nested without end
        GgufBytes deep = new GgufBytes().header(3, 0, 1).str("deep").u32(9);
        for (int i = 0; i < 100; i++) {
            deep.u32(9).u64(1);
        }
        deep.u32(0).u64(0);
        assertOpenFails(deep.toByteArray(), "nest");
        // too many dimensions
        assertOpenFails(new GgufBytes().header(3, 1, 0).str("t").u32(5).bytes(new byte[64]).toByteArray(),
                "dimensions");
        // dimensions whose product overflows
        assertOpenFails(new GgufBytes().header(3, 1, 0).str("t").u32(2).u64(1L << 40).u64(1L << 40)
                .u32(0).u64(0).toByteArray(), "too large");
        // tensor data beyond the end of the file
        assertOpenFails(new GgufBytes().header(3, 1, 0).str("t").u32(1).u64(1000).u32(0).u64(0).pad(32)
                .bytes(new byte[16]).toByteArray(), "beyond the end");
        // misaligned tensor offset
        assertOpenFails(new GgufBytes().header(3, 1, 0).str("t").u32(1).u64(1).u32(0).u64(4).pad(32)
                .bytes(new byte[64]).toByteArray(), "alignment");
        // quantized row length not a multiple of the block size
        assertOpenFails(new GgufBytes().header(3, 1, 0).str("t").u32(2).u64(16).u64(2).u32(8).u64(0).pad(32)
                .bytes(new byte[128]).toByteArray(), "block size");
        // invalid alignment
        assertOpenFails(new GgufBytes().header(3, 0, 1).str("general.alignment").u32(4).u32(48).toByteArray(),
                "alignment");
        // duplicate keys and tensors
        assertOpenFails(new GgufBytes().header(3, 0, 2).str("k").u32(7).u8(1).str("k").u32(7).u8(0)
                .toByteArray(), "duplicate");
        assertOpenFails(new GgufBytes().header(3, 2, 0).str("t").u32(1).u64(1).u32(0).u64(0)
                .str("t").u32(1).u64(1).u32(0).u64(32).pad(32).bytes(new byte[64]).toByteArray(), "duplicate");
        // too short to hold the magic
        assertOpenFails(new byte[] {'G', 'G'}, "short");
    }

    @Test
    void emptyFileWithoutTensors() throws IOException {
        byte[] b = new GgufBytes().header(3, 0, 2).str("k").u32(8).str("v").str("e").u32(8).str("").toByteArray();
        Path p = tmp.resolve("empty.gguf");
        Files.write(p, b);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals("v", f.getString("k"));
            assertEquals("", f.getString("e"), "an empty string at the very end of the file");
            assertTrue(f.tensors().isEmpty());
            assertFalse(f.metadata().isEmpty());
        }
    }

    private IOException assertOpenFails(byte[] bytes, String messagePart) throws IOException {
        Path p = Files.createTempFile(tmp, "bad", ".gguf");
        Files.write(p, bytes);
        IOException e = assertThrows(IOException.class, () -> {
            try (GgufFile f = GgufFile.open(p)) {
                f.tensors();
            }
        });
        assertTrue(e.getMessage().toLowerCase().contains(messagePart.toLowerCase()),
                "message should mention '" + messagePart + "': " + e.getMessage());
        return e;
    }
}
