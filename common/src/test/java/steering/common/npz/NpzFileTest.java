package steering.common.npz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Checks the reader against archives written by NumPy (scripts/sae/make_npz_fixtures.py). */
class NpzFileTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path fixture(String name) throws Exception {
        return Path.of(NpzFileTest.class.getResource("/npz/" + name).toURI());
    }

    private static JsonNode expected() throws Exception {
        try (InputStream in = NpzFileTest.class.getResourceAsStream("/npz/expected.json")) {
            return JSON.readTree(in);
        }
    }

    @Test
    void readsEveryDtypeOfStoredAndDeflatedArchivesAsNumpyWroteThem() throws Exception {
        JsonNode expected = expected();
        for (String file : List.of("arrays.npz", "arrays_compressed.npz")) {
            Map<String, NpyArray> arrays = NpzFile.readAll(fixture(file));
            assertEquals(expected.size(), arrays.size(), file);
            for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                NpyArray a = arrays.get(e.getKey());
                assertNotNull(a, file + " lacks " + e.getKey());
                assertEquals(e.getValue().get("dtype").asText(), a.descr(), e.getKey());
                long[] shape = new long[e.getValue().get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = e.getValue().get("shape").get(i).asLong();
                assertArrayEquals(shape, a.shape(), e.getKey());
                JsonNode values = e.getValue().get("values");
                assertEquals(values.size(), a.data().length, e.getKey());
                for (int i = 0; i < values.size(); i++) {
                    assertEquals((float) values.get(i).asDouble(), a.data()[i], 0f, file + " " + e.getKey() + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void readsOneArrayByNameAndListsNames() throws Exception {
        assertEquals(List.of("f32", "f64", "f16", "i64", "i32", "u8", "b1", "fortran", "big_endian", "scalar", "empty"),
                NpzFile.names(fixture("arrays.npz")));
        NpyArray f = NpzFile.read(fixture("arrays.npz"), "fortran");
        assertArrayEquals(new long[]{4, 3}, f.shape());
        assertNull(NpzFile.read(fixture("arrays.npz"), "missing"));
    }

    @Test
    void writtenArchivesReadBack(@TempDir Path dir) throws Exception {
        float[] a = {1, -2, 3.5f, 4, 5, 6};
        float[] b = {0.25f};
        Map<String, Map.Entry<long[], float[]>> arrays = new LinkedHashMap<>();
        arrays.put("W_enc", new AbstractMap.SimpleEntry<>(new long[]{2, 3}, a));
        arrays.put("b", new AbstractMap.SimpleEntry<>(new long[]{1}, b));
        Path p = dir.resolve("params.npz");
        NpzFile.writeFloat32(p, arrays);
        Map<String, NpyArray> back = NpzFile.readAll(p);
        assertArrayEquals(a, back.get("W_enc").data());
        assertArrayEquals(new long[]{2, 3}, back.get("W_enc").shape());
        assertArrayEquals(b, back.get("b").data());
        assertEquals("<f4", back.get("b").descr());
    }

    @Test
    void fortranOrderIsReorderedForThreeDimensions() {
        // shape (2, 3, 2): column-major element (i, j, k) sits at i + 2j + 6k
        long[] shape = {2, 3, 2};
        float[] f = new float[12];
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 2; k++) f[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
        float[] c = NpyFormat.fortranToC(f, shape);
        int idx = 0;
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 2; k++) assertEquals(100 * i + 10 * j + k, c[idx++]);
    }

    @Test
    void rejectsBrokenInputWithAReadableError(@TempDir Path dir) throws Exception {
        Path notZip = dir.resolve("x.npz");
        Files.writeString(notZip, "definitely not a zip");
        IOException e = assertThrows(IOException.class, () -> NpzFile.readAll(notZip));
        assertTrue(e.getMessage().contains("x.npz"), e.getMessage());

        IOException magic = assertThrows(IOException.class, () -> NpyFormat.read(new ByteArrayInputStream(new byte[16]), "a"));
        assertTrue(magic.getMessage().contains("magic"), magic.getMessage());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NpyFormat.writeFloat32(out, new long[]{4}, new float[]{1, 2, 3, 4});
        byte[] truncated = java.util.Arrays.copyOf(out.toByteArray(), out.size() - 3);
        IOException eof = assertThrows(IOException.class, () -> NpyFormat.read(new ByteArrayInputStream(truncated), "t"));
        assertTrue(eof.getMessage().contains("ends after"), eof.getMessage());

        byte[] complex = out.toByteArray().clone();
        String header = new String(complex, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = header.indexOf("<f4");
        complex[at + 1] = 'c';
        complex[at + 2] = '8';
        IOException dtype = assertThrows(IOException.class, () -> NpyFormat.read(new ByteArrayInputStream(complex), "c"));
        assertTrue(dtype.getMessage().contains("unsupported dtype"), dtype.getMessage());
    }
}
