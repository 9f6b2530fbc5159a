package steering.common.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Reads the SmolLM2-135M-Instruct Q4_1 GGUF if scripts/fetch-model.sh has put it in the user's cache;
 * skipped otherwise.
 */
class RealModelGgufTest {

    static final Path MODEL = Path.of(System.getProperty("user.home"), ".cache", "steering-mesh", "models",
            "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf");

    @Test
    void readsEveryTensorOfSmolLm2() throws IOException {
        assumeTrue(Files.isRegularFile(MODEL), "model file absent: " + MODEL);
        try (GgufFile f = GgufFile.open(MODEL)) {
            assertEquals("llama", f.getString("general.architecture"));
            assertEquals(30, f.getLong("llama.block_count", -1));
            assertEquals(576, f.getLong("llama.embedding_length", -1));
            List<?> tokens = (List<?>) f.metadata().get("tokenizer.ggml.tokens");
            assertEquals(f.getLong("llama.vocab_size", tokens.size()), tokens.size());
            assertEquals(576, f.tensor("token_embd.weight").ne()[0]);
            Set<GgmlType> types = EnumSet.noneOf(GgmlType.class);
            long elements = 0;
            long t0 = System.nanoTime();
            for (GgufTensorInfo t : f.tensors()) {
                types.add(t.type());
                float[] v = f.readFloats(t.name());
                assertEquals(t.elementCount(), v.length);
                double sumSq = 0;
                for (float x : v) {
                    assertTrue(Float.isFinite(x), t.name());
                    sumSq += x * x;
                }
                assertTrue(sumSq > 0, t.name() + " is all zeros");
                elements += v.length;
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("dequantized %d tensors, %d elements, types %s, in %d ms%n",
                    f.tensors().size(), elements, types, ms);
            assertTrue(types.containsAll(EnumSet.of(GgmlType.Q4_1, GgmlType.Q8_0, GgmlType.F32)), types.toString());
            assertTrue(elements > 130_000_000L, "elements " + elements);
        }
    }
}
