package steering.model.runtime;

import steering.common.steer.HookPoint;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.model.engine.Sampler;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.model.tokenizer.ChatTemplate;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Our forward and tokenizer against Hugging Face transformers on the same SmolLM2 GGUF (fixture made by
 * scripts/reference/make_smollm2_reference.py): same token ids, logits within a small tolerance, same greedy tokens.
 */
class SmolLM2ReferenceTest {
    static NDManager manager;
    static LoadedModel model;
    static JsonNode reference;

    @BeforeAll
    static void load() throws Exception {
        var path = TestModels.smollm2();
        manager = NDManager.newBaseManager();
        model = ModelLoader.load(path, manager, 2048);
        try (InputStream in = SmolLM2ReferenceTest.class.getResourceAsStream("/reference/smollm2-135m-instruct-q4_1.json")) {
            reference = new ObjectMapper().readTree(in);
        }
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (manager != null) manager.close();
    }

    @Test
    void tokenizerMatchesTransformersOnTrickyText() {
        for (JsonNode c : reference.get("tokenizer_cases")) {
            int[] ids = model.tokenizer().encode(c.get("text").asText(), false);
            assertArrayEquals(ints(c.get("ids")), ids, c.get("text").asText());
            assertEquals(c.get("decoded").asText(), model.tokenizer().decode(ids, false));
        }
    }

    @Test
    void logitsAndGreedyContinuationsMatchTransformers() {
        for (JsonNode p : reference.get("prompts")) {
            String name = p.get("name").asText();
            int[] expectedIds = ints(p.get("input_ids"));
            int[] ids;
            if (p.has("chat_messages") && !p.get("chat_messages").isNull()) {
                List<ChatTemplate.Message> messages = new ArrayList<>();
                for (JsonNode m : p.get("chat_messages")) messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
                ids = model.tokenizer().encode(model.chatTemplate().render(messages, true), false);
            } else {
                ids = model.tokenizer().encode(p.get("prompt").asText(), model.tokenizer().addsBosByDefault());
            }
            assertArrayEquals(expectedIds, ids, name + ": prompt token ids");

            float[] logits = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(), ids.length - 1, Set.of())), null)
                    .get(0).logits();
            JsonNode full = p.get("full_logits");
            double maxDiff = 0;
            for (int i = 0; i < full.size(); i++) maxDiff = Math.max(maxDiff, Math.abs(full.get(i).asDouble() - logits[i]));
            assertTrue(maxDiff < 1e-3, name + ": max |logit difference| " + maxDiff);
            System.out.printf("%s: max |logit - transformers| = %.5f over %d logits%n", name, maxDiff, full.size());

            int[] greedy = ints(p.get("greedy").get("ids"));
            int[] ours = greedyDecode(ids, greedy.length);
            assertArrayEquals(greedy, ours, name + ": greedy continuation");
        }
    }

    @Test
    void answersTheCapitalOfFranceQuestion() {
        String prompt = model.chatTemplate().render(List.of(new ChatTemplate.Message("user", "What is the capital of France?")), true);
        int[] ids = model.tokenizer().encode(prompt, false);
        String answer = model.tokenizer().decode(greedyDecode(ids, 12), true);
        assertTrue(answer.contains("Paris"), answer);
    }

    @Test
    void loveVectorAtAMiddleLayerRaisesLoveWithScaleAndScaleZeroChangesNothing() {
        HookPoint hook = new HookPoint(15, HookPoint.Site.PRE);
        float[] v = minus(meanAt(hook, "I love you. Love is wonderful. I adore my family."),
                meanAt(hook, "I hate you. Hate is terrible. I despise my enemies."));
        int[] prompt = model.tokenizer().encode("My feelings about my neighbours: I", false);
        int love = model.tokenizer().encode(" love", false)[0];
        double previous = Double.NEGATIVE_INFINITY;
        for (float scale : new float[]{0f, 0.5f, 1f, 2f}) {
            Intervention iv = new Intervention(hook, v, 1, scale, Intervention.Policy.ALL, 0);
            float[] logits = model.transformer().forward(List.of(new ForwardStep(prompt, 0, -1, List.of(iv), prompt.length - 1, Set.of())), null)
                    .get(0).logits();
            double logp = logits[love] - logSumExp(logits);
            assertTrue(logp > previous, "log p(' love') rises with scale: " + logp + " at " + scale);
            previous = logp;
        }
        float[] plain = model.transformer().forward(List.of(new ForwardStep(prompt, 0, -1, List.of(), prompt.length - 1, Set.of())), null).get(0).logits();
        float[] zero = model.transformer().forward(List.of(new ForwardStep(prompt, 0, -1,
                List.of(new Intervention(hook, v, 1, 0f, Intervention.Policy.ALL, 0)), prompt.length - 1, Set.of())), null).get(0).logits();
        assertArrayEquals(plain, zero, "scale 0 is exactly the unsteered forward");
    }

    private static float[] meanAt(HookPoint hook, String text) {
        return ModelProbes.meanResidual(model, hook, model.tokenizer().encode(text, false), 0);
    }

    private static float[] minus(float[] a, float[] b) {
        return ModelProbes.minus(a, b);
    }

    private static double logSumExp(float[] x) {
        return ModelProbes.logSumExp(x);
    }

    private static int[] greedyDecode(int[] prompt, int steps) {
        return ModelProbes.greedyDecode(model, manager, prompt, steps);
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
