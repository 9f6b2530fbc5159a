package steering.model.runtime;

import steering.common.steer.HookPoint;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.model.engine.Sampler;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.model.tokenizer.ChatTemplate;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Gemma 3 270M (Q4_K_M GGUF) against Hugging Face transformers on the same file (fixture and the script that made
 * it: scripts/reference/make_gemma3_reference.py): the tokenizer rebuilt from the GGUF's SentencePiece vocabulary,
 * the chat template, logits, the residual stream at every hook, greedy continuations with the KV cache (one prompt
 * longer than the 512-token sliding window), batched decode, and steering.
 */
class Gemma3ReferenceTest {
    /** Logits are around 20 and the residual norm reaches 35000: float32 sums in another order differ near 1e-4. */
    private static final double LOGIT_TOLERANCE = 1e-3;
    private static NDManager manager;
    private static LoadedModel model;
    private static JsonNode reference;

    @BeforeAll
    static void load() throws Exception {
        String cache = System.getenv().getOrDefault("STEERING_CACHE", System.getProperty("user.home") + "/.cache/steering-mesh");
        Path path = Path.of(cache, "models/gemma3-270m/gemma-3-270m-q4_k_m.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(path), "Gemma 3 270M not cached: run scripts/fetch-model.sh gemma3-270m");
        manager = NDManager.newBaseManager();
        model = ModelLoader.load(path, manager, 2048);
        try (InputStream in = Gemma3ReferenceTest.class.getResourceAsStream("/reference/gemma3-270m-q4_k_m.json")) {
            reference = new ObjectMapper().readTree(in);
        }
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (manager != null) manager.close();
    }

    @Test
    void configurationFromGgufMetadata() {
        ModelConfig cfg = model.config();
        DecoderOptions o = cfg.options();
        JsonNode m = reference.get("model");
        assertEquals("gemma3", cfg.architecture());
        assertEquals(m.get("hidden_size").asInt(), cfg.dModel());
        assertEquals(m.get("num_hidden_layers").asInt(), cfg.nLayers());
        assertEquals(m.get("head_dim").asInt(), cfg.headDim());
        assertEquals(m.get("vocab_size").asInt(), cfg.vocabSize());
        assertEquals(m.get("sliding_window").asInt(), o.slidingWindow());
        List<Boolean> sliding = new ArrayList<>();
        m.get("layer_types").forEach(t -> sliding.add(t.asText().equals("sliding_attention")));
        assertEquals(sliding, o.slidingLayers());
        assertEquals(m.get("rope_parameters").get("full_attention").get("rope_theta").asDouble(), cfg.ropeTheta(), 1e-3);
        assertEquals(m.get("rope_parameters").get("sliding_attention").get("rope_theta").asDouble(), o.ropeLocalTheta(), 1e-3);
        assertEquals(m.get("query_pre_attn_scalar").asDouble(), o.queryPreAttnScalar());
        assertTrue(o.qkNorm());
        assertEquals(0f, o.attnLogitSoftcap());
        assertEquals(0f, o.finalLogitSoftcap());
        assertTrue(cfg.eosTokenIds().contains(106), "<end_of_turn> ends a generation");
        assertNotNull(model.chatTemplate(), "a Gemma GGUF without a template gets Gemma's turn format");
    }

    @Test
    void tokenizerMatchesTransformersOnTrickyText() {
        for (JsonNode c : reference.get("tokenizer_cases")) {
            String text = c.get("text").asText();
            int[] ids = model.tokenizer().encode(text, model.tokenizer().addsBosByDefault());
            assertArrayEquals(GemmaTinyRandomTest.ints(c.get("ids")), ids, text);
            assertEquals(c.get("decoded").asText(), model.tokenizer().decode(ids, true), text);
        }
    }

    @Test
    void logitsAndGreedyContinuationsMatchTransformers() {
        for (JsonNode p : reference.get("prompts")) {
            String name = p.get("name").asText();
            int[] ids = promptIds(p);
            assertArrayEquals(GemmaTinyRandomTest.ints(p.get("input_ids")), ids, name + ": prompt token ids");
            if (p.has("apply_chat_template_ids_match")) assertTrue(p.get("apply_chat_template_ids_match").asBoolean());

            float[] logits = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(), ids.length - 1, Set.of())), null)
                    .get(0).logits();
            double maxDiff = compareLogits(p, logits, name);
            System.out.printf("gemma3 %s (%d tokens): max |logit - transformers| = %.5f%n", name, ids.length, maxDiff);

            int[] greedy = GemmaTinyRandomTest.ints(p.get("greedy").get("ids"));
            assertArrayEquals(greedy, greedyDecode(ids, greedy.length), name + ": greedy continuation");
        }
    }

    @Test
    void residualStreamMatchesTransformersAtEveryHook() {
        JsonNode r = reference.get("residuals");
        JsonNode p = reference.get("prompts").get(0);
        int[] ids = GemmaTinyRandomTest.ints(p.get("input_ids"));
        int n = model.config().nLayers();
        int d = model.config().dModel();
        Set<HookPoint> hooks = new java.util.HashSet<>();
        for (int l = 0; l < n; l++) {
            hooks.add(new HookPoint(l, HookPoint.Site.MID));
            hooks.add(new HookPoint(l, HookPoint.Site.POST));
        }
        hooks.add(new HookPoint(0, HookPoint.Site.PRE));
        Map<HookPoint, float[]> got = model.transformer()
                .forward(List.of(new ForwardStep(ids, 0, -1, List.of(), ids.length, hooks)), null).get(0).captured();
        int last = r.get("position").asInt();
        float[] pre0 = GemmaTinyRandomTest.row(got.get(new HookPoint(0, HookPoint.Site.PRE)), last, d);
        assertEquals(r.get("resid_pre_0_norm").asDouble(), norm(pre0), 1e-3, "resid_pre 0: sqrt(d_model)-scaled embedding");
        for (int i = 0; i < 8; i++) assertEquals(r.get("resid_pre_0_first8").get(i).asDouble(), pre0[i], 1e-4);
        for (int l = 0; l < n; l++) {
            assertRelative(r.get("resid_mid_norms").get(l).asDouble(),
                    norm(GemmaTinyRandomTest.row(got.get(new HookPoint(l, HookPoint.Site.MID)), last, d)), "resid_mid " + l);
            if (l + 1 < n) {
                assertRelative(r.get("resid_post_norms").get(l).asDouble(),
                        norm(GemmaTinyRandomTest.row(got.get(new HookPoint(l, HookPoint.Site.POST)), last, d)), "resid_post " + l);
            }
        }
    }

    /** The base model does not answer a bare question in a chat turn; with one earlier exchange it does. */
    @Test
    void answersTheCapitalOfFranceQuestionThroughTheChatTemplate() {
        String prompt = model.chatTemplate().render(List.of(
                new ChatTemplate.Message("user", "What is the capital of Germany?"),
                new ChatTemplate.Message("assistant", "The capital of Germany is Berlin."),
                new ChatTemplate.Message("user", "What is the capital of France?")), true);
        int[] ids = model.tokenizer().encode(prompt, false);
        String answer = model.tokenizer().decode(greedyDecode(ids, 8), true);
        assertTrue(answer.startsWith("The capital of France is Paris"), answer);
    }

    /**
     * The long prompt (past the sliding window) and the chat prompt decoded together in one batch at different
     * positions give transformers' greedy tokens for both.
     */
    @Test
    void batchedDecodeOfALongAndAShortSequenceMatchesTransformers() {
        JsonNode longP = prompt("past_window");
        JsonNode chatP = prompt("chat_capital");
        int[][] prompts = {GemmaTinyRandomTest.ints(longP.get("input_ids")), GemmaTinyRandomTest.ints(chatP.get("input_ids"))};
        int[][] expected = {GemmaTinyRandomTest.ints(longP.get("greedy").get("ids")), GemmaTinyRandomTest.ints(chatP.get("greedy").get("ids"))};
        int vocab = model.config().vocabSize();
        int steps = expected[0].length;
        int[][] got = new int[2][steps];
        try (KvCache cache = new KvCache(manager, model.config(), 2, 64, 2048)) {
            float[][] logits = new float[2][];
            for (int b = 0; b < 2; b++) {
                logits[b] = model.transformer().forward(List.of(new ForwardStep(prompts[b], 0, b, List.of(), prompts[b].length - 1, Set.of())), cache)
                        .get(0).logits();
            }
            for (int i = 0; i < steps; i++) {
                List<ForwardStep> batch = new ArrayList<>();
                for (int b = 0; b < 2; b++) {
                    got[b][i] = Sampler.argmax(logits[b], 0, vocab);
                    batch.add(ForwardStep.decode(got[b][i], prompts[b].length + i, b, List.of()));
                }
                if (i + 1 == steps) break;
                List<ForwardResult> out = model.transformer().forward(batch, cache);
                for (int b = 0; b < 2; b++) logits[b] = out.get(b).logits();
            }
        }
        assertArrayEquals(expected[0], got[0], "long prompt, batched");
        assertArrayEquals(expected[1], got[1], "chat prompt, batched");
    }

    @Test
    void loveVectorAtAMiddleLayerRaisesLoveWithScaleAndScaleZeroChangesNothing() {
        HookPoint hook = new HookPoint(6, HookPoint.Site.PRE);
        float[] v = minus(meanAt(hook, "I love you. Love is wonderful. I adore my family."),
                meanAt(hook, "I hate you. Hate is terrible. I despise my enemies."));
        int[] prompt = model.tokenizer().encode("My feelings about my neighbours: I", true);
        int love = model.tokenizer().encode(" love", false)[0];
        double previous = Double.NEGATIVE_INFINITY;
        for (float scale : new float[]{0f, 0.5f, 1f, 2f}) {
            Intervention iv = new Intervention(hook, v, 1, scale, Intervention.Policy.ALL, 0);
            float[] logits = model.transformer().forward(List.of(new ForwardStep(prompt, 0, -1, List.of(iv), prompt.length - 1, Set.of())), null)
                    .get(0).logits();
            double logp = logits[love] - logSumExp(logits);
            System.out.printf("gemma3 steering scale %.1f: log p(' love') = %.3f%n", scale, logp);
            assertTrue(logp > previous, "log p(' love') rises with scale: " + logp + " at " + scale);
            previous = logp;
        }
        float[] plain = model.transformer().forward(List.of(new ForwardStep(prompt, 0, -1, List.of(), prompt.length - 1, Set.of())), null).get(0).logits();
        float[] zero = model.transformer().forward(List.of(new ForwardStep(prompt, 0, -1,
                List.of(new Intervention(hook, v, 1, 0f, Intervention.Policy.ALL, 0)), prompt.length - 1, Set.of())), null).get(0).logits();
        assertArrayEquals(plain, zero, "scale 0 is exactly the unsteered forward");
    }

    private int[] promptIds(JsonNode p) {
        if (p.has("chat_messages")) {
            List<ChatTemplate.Message> messages = new ArrayList<>();
            for (JsonNode m : p.get("chat_messages")) messages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
            return model.tokenizer().encode(model.chatTemplate().render(messages, true), false);
        }
        return model.tokenizer().encode(p.get("prompt").asText(), model.tokenizer().addsBosByDefault());
    }

    private static JsonNode prompt(String name) {
        for (JsonNode p : reference.get("prompts")) if (p.get("name").asText().equals(name)) return p;
        throw new IllegalArgumentException(name);
    }

    /** Top 100, every 64th id, and the logsumexp over the whole vocabulary. */
    private static double compareLogits(JsonNode p, float[] logits, String name) {
        double max = 0;
        JsonNode top = p.get("top");
        for (int i = 0; i < top.get("ids").size(); i++) {
            max = Math.max(max, Math.abs(top.get("logits").get(i).asDouble() - logits[top.get("ids").get(i).asInt()]));
        }
        assertEquals(top.get("ids").get(0).asInt(), Sampler.argmax(logits, 0, logits.length), name + ": top token");
        JsonNode sampled = p.get("sampled_logits");
        int stride = logits.length / sampled.size();
        for (int i = 0; i < sampled.size(); i++) max = Math.max(max, Math.abs(sampled.get(i).asDouble() - logits[i * stride]));
        assertTrue(max < LOGIT_TOLERANCE, name + ": max |logit difference| " + max);
        assertEquals(p.get("logsumexp").asDouble(), logSumExp(logits), LOGIT_TOLERANCE, name + ": logsumexp");
        return max;
    }

    private static void assertRelative(double expected, double actual, String what) {
        assertTrue(Math.abs(expected - actual) <= 1e-4 * Math.abs(expected), what + ": " + actual + " vs " + expected);
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    private static float[] meanAt(HookPoint hook, String text) {
        // BOS excluded: its residual is huge and the same for both texts
        return ModelProbes.meanResidual(model, hook, model.tokenizer().encode(text, true), 1);
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
}
