package steering.model.runtime;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.model.engine.Sampler;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The float16 compute path against Hugging Face transformers (float32) on the same GGUFs, with the fixtures the
 * float32 reference tests use. float16 products round every weight to 11 significant bits, so logits differ by more
 * than float32's 1e-3; what must hold is the next-token choice: teacher-forced on transformers' greedy continuation,
 * our argmax agrees at >= 95% of positions (the bar), and the last prompt position's logits stay close.
 */
class HalfPrecisionReferenceTest {
    private static final ComputeSettings CPU_FLOAT16 = new ComputeSettings(Device.cpu(), DataType.FLOAT16);

    @Test
    void smollm2InFloat16AgreesWithTransformersOnTheNextToken() throws Exception {
        check(TestModels.smollm2(), "/reference/smollm2-135m-instruct-q4_1.json", 0.15);
    }

    @Test
    void gemma3InFloat16AgreesWithTransformersOnTheNextToken() throws Exception {
        String cache = System.getenv().getOrDefault("STEERING_CACHE", System.getProperty("user.home") + "/.cache/steering-mesh");
        Path path = Path.of(cache, "models/gemma3-270m/gemma-3-270m-q4_k_m.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(path), "Gemma 3 270M not cached: run scripts/fetch-model.sh gemma3-270m");
        check(path, "/reference/gemma3-270m-q4_k_m.json", 0.15);
    }

    /**
     * The int8 single-sequence decode path: teacher-forced one token at a time through a KV cache on transformers'
     * greedy continuation (each step a lone decode, so every product is the 8-bit one), top-1 agreement >= 95%.
     */
    @Test
    void smollm2Int8DecodeAgreesWithTransformersOnTheNextToken() throws Exception {
        JsonNode reference;
        try (InputStream in = HalfPrecisionReferenceTest.class.getResourceAsStream("/reference/smollm2-135m-instruct-q4_1.json")) {
            reference = new ObjectMapper().readTree(in);
        }
        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel model = ModelLoader.load(TestModels.smollm2(), manager, 2048,
                     new ComputeSettings(Device.cpu(), DataType.FLOAT16, true))) {
            int vocab = model.config().vocabSize();
            int agree = 0;
            int total = 0;
            for (JsonNode p : reference.get("prompts")) {
                int[] prompt = ints(p.get("input_ids"));
                int[] greedy = ints(p.get("greedy").get("ids"));
                try (KvCache cache = new KvCache(manager, model.config(), 1, 64, 2048)) {
                    float[] logits = model.transformer().forward(List.of(new ForwardStep(prompt, 0, 0, List.of(),
                            prompt.length - 1, Set.of())), cache).get(0).logits();
                    for (int i = 0; i < greedy.length; i++) {
                        if (Sampler.argmax(logits, 0, vocab) == greedy[i]) agree++;
                        total++;
                        logits = model.transformer().forward(List.of(ForwardStep.decode(greedy[i], prompt.length + i,
                                0, List.of())), cache).get(0).logits();
                    }
                }
            }
            double rate = agree / (double) total;
            System.out.printf("%s int8 single-sequence decode: top-1 agreement %.3f over %d positions%n",
                    model.config().modelId(), rate, total);
            assertTrue(rate >= 0.95, "top-1 agreement " + rate + " below 0.95");
        }
    }

    private static void check(Path path, String fixture, double maxLogitDiff) throws Exception {
        JsonNode reference;
        try (InputStream in = HalfPrecisionReferenceTest.class.getResourceAsStream(fixture)) {
            reference = new ObjectMapper().readTree(in);
        }
        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel model = ModelLoader.load(path, manager, 2048, CPU_FLOAT16)) {
            assertEquals(DataType.FLOAT16, model.transformer().computeType());
            int vocab = model.config().vocabSize();
            int agree = 0;
            int total = 0;
            double worst = 0;
            for (JsonNode p : reference.get("prompts")) {
                String name = p.get("name").asText();
                int[] prompt = ints(p.get("input_ids"));
                int[] greedy = ints(p.get("greedy").get("ids"));
                // prompt + transformers' continuation, our argmax at every position that predicts one of its tokens
                int[] ids = Arrays.copyOf(prompt, prompt.length + greedy.length - 1);
                System.arraycopy(greedy, 0, ids, prompt.length, greedy.length - 1);
                float[] logits = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(),
                        prompt.length - 1, Set.of())), null).get(0).logits();
                int promptAgree = 0;
                for (int i = 0; i < greedy.length; i++) {
                    if (Sampler.argmax(logits, i * vocab, vocab) == greedy[i]) promptAgree++;
                }
                // the SmolLM2 fixture keeps every logit of the last prompt position, Gemma's every 64th
                JsonNode full = p.has("full_logits") ? p.get("full_logits") : p.get("sampled_logits");
                int stride = p.has("full_logits") ? 1 : 64;
                double maxDiff = 0;
                for (int i = 0; i < full.size(); i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(full.get(i).asDouble() - logits[i * stride]));
                }
                System.out.printf("%s float16 %s: max |logit - transformers| = %.4f at the last prompt position; "
                        + "greedy agreement %d/%d%n", model.config().modelId(), name, maxDiff, promptAgree, greedy.length);
                worst = Math.max(worst, maxDiff);
                agree += promptAgree;
                total += greedy.length;
            }
            double rate = agree / (double) total;
            System.out.printf("%s float16: top-1 agreement %.3f over %d positions, worst max |logit diff| %.4f%n",
                    model.config().modelId(), rate, total, worst);
            assertTrue(rate >= 0.95, "top-1 agreement " + rate + " below 0.95");
            assertTrue(worst < maxLogitDiff, "max |logit difference| " + worst + " exceeds " + maxLogitDiff);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
