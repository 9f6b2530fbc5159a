package steering.common.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {

    @TempDir
    Path tmp;

    @Test
    void roundTrip() throws IOException {
        float[] matrix = new float[3 * 5];
        for (int i = 0; i < matrix.length; i++) {
            matrix[i] = (float) Math.sin(i) * 1e3f;
        }
        float[] vector = {1f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY, Float.NaN, 7f};
        Path p = tmp.resolve("rt.gguf");
        new GgufWriter()
                .put("general.architecture", "steering")
                .put("s", "\u00fcnicode \u2713")
                .put("i32", -5)
                .put("i64", 1L << 40)
                .put("i16", (short) -7)
                .put("i8", (byte) 9)
                .put("f32", 0.1f)
                .put("f64", 0.1)
                .put("yes", true)
                .put("strings", List.of("a", "", "c"))
                .put("longs", List.of(1L, 2L))
                .put("floats", new float[] {0.25f, 0.5f})
                .put("ints", new int[] {3, 4})
                .put("nested", List.of(List.of("x"), List.of("y", "z")))
                .put("empty", List.of())
                .putUint32("u32", 4000000000L)
                .putUint64("u64", -1L)
                .addTensor("matrix", new long[] {5, 3}, matrix)
                .addTensor("vector", new long[] {7}, vector)
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            Map<String, Object> m = f.metadata();
            assertEquals(List.of("general.architecture", "s", "i32", "i64", "i16", "i8", "f32", "f64", "yes",
                    "strings", "longs", "floats", "ints", "nested", "empty", "u32", "u64"), List.copyOf(m.keySet()));
            assertEquals("steering", f.getString("general.architecture"));
            assertEquals("\u00fcnicode \u2713", f.getString("s"));
            assertEquals(-5L, m.get("i32"));
            assertEquals(1L << 40, m.get("i64"));
            assertEquals(-7L, m.get("i16"));
            assertEquals(9L, m.get("i8"));
            assertEquals((double) 0.1f, m.get("f32"));
            assertEquals(0.1, m.get("f64"));
            assertEquals(true, m.get("yes"));
            assertEquals(List.of("a", "", "c"), m.get("strings"));
            assertEquals(List.of(1L, 2L), m.get("longs"));
            assertEquals(List.of(0.25, 0.5), m.get("floats"));
            assertEquals(List.of(3L, 4L), m.get("ints"));
            assertEquals(List.of(List.of("x"), List.of("y", "z")), m.get("nested"));
            assertEquals(List.of(), m.get("empty"));
            assertEquals(4000000000L, m.get("u32"));
            assertEquals(-1L, m.get("u64"));

            GgufTensorInfo t = f.tensor("matrix");
            assertEquals(GgmlType.F32, t.type());
            assertArrayEquals(new long[] {3, 5}, t.shapeRowMajor());
            assertArrayEquals(matrix, f.readFloats("matrix"));
            GgufFileTest.assertBitEqual(vector, f.readFloats("vector"), "vector");
            assertEquals(32, f.alignment());
            for (GgufTensorInfo ti : f.tensors()) {
                assertEquals(0, ti.offset() % 32);
            }
        }
    }

    @Test
    void customAlignmentIsWrittenAsUint32AndUsed() throws IOException {
        Path p = tmp.resolve("a.gguf");
        new GgufWriter().put("general.alignment", 128)
                .addTensor("a", new long[] {3}, new float[] {1, 2, 3})
                .addTensor("b", new long[] {1}, new float[] {4})
                .write(p);
        byte[] bytes = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(128, f.alignment());
            assertEquals(128L, f.metadata().get("general.alignment"));
            assertEquals(0, f.dataOffset() % 128);
            assertEquals(f.dataOffset() + 128, f.tensor("b").offset());
            assertArrayEquals(new float[] {4}, f.readFloats("b"));
            assertEquals(0, bytes.length % 128);
        }
    }

    @Test
    void overwritesAtomicallyAndLeavesNoTemporaryFiles() throws IOException {
        Path p = tmp.resolve("v.gguf");
        Files.writeString(p, "old content");
        new GgufWriter().put("n", 1).addTensor("v", new long[] {2}, new float[] {1, 2}).write(p);
        new GgufWriter().put("n", 2).addTensor("v", new long[] {2}, new float[] {3, 4}).write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(2, f.getLong("n", 0));
            assertArrayEquals(new float[] {3, 4}, f.readFloats("v"));
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(p), s.toList());
        }
    }

    @Test
    void failedWriteLeavesNoTemporaryFile() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("d"));
        Path target = Files.createDirectory(dir.resolve("is-a-non-empty-dir"));
        Files.writeString(target.resolve("x"), "x");
        GgufWriter w = new GgufWriter().put("k", "v");
        assertThrows(IOException.class, () -> w.write(target));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(target), s.toList());
        }
    }

    @Test
    void rejectsBadInput() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.put("k", new Object()));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", List.of(1, "a")));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", List.of(1, 2L)));
        assertThrows(NullPointerException.class, () -> w.put("k", null));
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", 48));
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", "32"));
        assertThrows(IllegalArgumentException.class, () -> w.putUint32("k", -1));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", new long[] {2, 2}, new float[3]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", new long[] {}, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", new long[] {1, 1, 1, 1, 1}, new float[1]));
        w.addTensor("t", new long[] {1}, new float[1]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", new long[] {1}, new float[1]));
    }

    @Test
    void tensorDataIsCopied() throws IOException {
        float[] data = {1, 2};
        GgufWriter w = new GgufWriter().addTensor("t", new long[] {2}, data);
        data[0] = 99;
        Path p = tmp.resolve("c.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertArrayEquals(new float[] {1, 2}, f.readFloats("t"));
        }
    }
}
