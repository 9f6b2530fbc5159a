package steering.model.runtime;

import steering.common.steer.HookPoint;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import steering.model.engine.Sampler;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Gemma 2 and Gemma 3 blocks against transformers on small random-weight models in Hugging Face layout
 * (fixtures and the script that made them: scripts/reference/make_gemma_tiny_random.py). The weights are large
 * enough that (1 + w) norms, sandwich norms, GeGLU, embedding scaling, soft-capping (Gemma 2), QK-norm and linear
 * RoPE scaling (Gemma 3) all move the logits, and the 12-token sequence is three times the 4-token sliding window.
 */
class GemmaTinyRandomTest {
    private static final double TOLERANCE = 2e-4;
    private static final Map<String, LoadedModel> MODELS = new HashMap<>();
    private static final Map<String, JsonNode> REFERENCES = new HashMap<>();
    private static NDManager manager;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        for (String arch : List.of("gemma2", "gemma3")) {
            Path dir = Path.of(GemmaTinyRandomTest.class.getResource("/reference/" + arch + "-tiny-random").toURI());
            MODELS.put(arch, ModelLoader.load(dir, manager, 0));
            REFERENCES.put(arch, new ObjectMapper().readTree(dir.resolve("reference.json").toFile()));
        }
    }

    @AfterAll
    static void close() {
        MODELS.values().forEach(LoadedModel::close);
        if (manager != null) manager.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3"})
    void configurationIsReadFromTheHuggingFaceDirectory(String arch) {
        ModelConfig cfg = MODELS.get(arch).config();
        DecoderOptions o = cfg.options();
        assertEquals(arch, cfg.architecture());
        assertEquals(16, cfg.headDim());
        assertTrue(o.sandwichNorms());
        assertEquals(DecoderOptions.Activation.GELU_TANH, o.activation());
        assertEquals(24f, o.queryPreAttnScalar());
        assertEquals(4, o.slidingWindow());
        if (arch.equals("gemma2")) {
            assertEquals(List.of(true, false, true, false), o.slidingLayers());
            assertEquals(4f, o.attnLogitSoftcap());
            assertEquals(5f, o.finalLogitSoftcap());
            assertFalse(o.qkNorm());
        } else {
            assertEquals(List.of(true, true, false, true), o.slidingLayers());
            assertEquals(0f, o.attnLogitSoftcap());
            assertTrue(o.qkNorm());
            assertEquals(100f, cfg.ropeTheta());
            assertEquals(10f, o.ropeLocalTheta());
            assertEquals(4f, o.ropeLinearFactor());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3"})
    void logitsOfEveryPositionMatchTransformers(String arch) {
        LoadedModel model = MODELS.get(arch);
        JsonNode ref = REFERENCES.get(arch);
        int[] ids = ints(ref.get("input_ids"));
        float[] logits = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(), 0, Set.of())), null)
                .get(0).logits();
        double diff = maxDiff(ref.get("logits"), logits);
        System.out.printf("%s tiny: max |logit - transformers| over %d positions = %.2e%n", arch, ids.length, diff);
        assertTrue(diff < TOLERANCE, arch + ": max |logit difference| " + diff);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3"})
    void residualStreamAtEveryHookMatchesTransformers(String arch) {
        LoadedModel model = MODELS.get(arch);
        JsonNode ref = REFERENCES.get(arch);
        int[] ids = ints(ref.get("input_ids"));
        int n = model.config().nLayers();
        int d = model.config().dModel();
        Set<HookPoint> hooks = new java.util.HashSet<>(HookPoint.allNames(n).stream().map(s -> HookPoint.parse(s, n)).toList());
        Map<HookPoint, float[]> got = model.transformer()
                .forward(List.of(new ForwardStep(ids, 0, -1, List.of(), ids.length, hooks)), null).get(0).captured();
        int last = ids.length - 1;
        JsonNode r = ref.get("residuals");
        assertClose(r.get("resid_pre_0"), row(got.get(new HookPoint(0, HookPoint.Site.PRE)), last, d), arch + " resid_pre 0");
        for (int l = 0; l < n; l++) {
            assertClose(r.get("resid_mid").get(l), row(got.get(new HookPoint(l, HookPoint.Site.MID)), last, d), arch + " resid_mid " + l);
            assertClose(r.get("resid_post").get(l), row(got.get(new HookPoint(l, HookPoint.Site.POST)), last, d), arch + " resid_post " + l);
            if (l + 1 < n) {
                // resid_post of a block is the next block's resid_pre, exactly
                assertArrayEquals(got.get(new HookPoint(l, HookPoint.Site.POST)), got.get(new HookPoint(l + 1, HookPoint.Site.PRE)));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3"})
    void steeringAtPreMidAndPostMatchesTransformersHooks(String arch) {
        LoadedModel model = MODELS.get(arch);
        JsonNode ref = REFERENCES.get(arch);
        int[] ids = ints(ref.get("input_ids"));
        int n = model.config().nLayers();
        List<Intervention> ivs = new ArrayList<>();
        for (JsonNode iv : ref.get("steered").get("interventions")) {
            ivs.add(new Intervention(HookPoint.parse(iv.get("hook").asText(), n), floats(iv.get("vector")), 1,
                    (float) iv.get("scale").asDouble(), Intervention.Policy.ALL, 0));
        }
        float[] logits = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, ivs, ids.length - 1, Set.of())), null)
                .get(0).logits();
        double diff = maxDiff(ref.get("steered").get("last_logits"), logits);
        assertTrue(diff < TOLERANCE, arch + ": steered max |logit difference| " + diff + " (steering moved logits by up to "
                + ref.get("steered").get("max_abs_change").asDouble() + ")");
    }

    /**
     * Two sequences decoded together from the KV cache, at different positions, both past the 4-token window: one
     * free-running from the 5-token prompt (transformers' greedy steps), one teacher-forced through the 12-token
     * sequence (transformers' full-forward logits at those positions).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gemma2", "gemma3"})
    void batchedCachedDecodeAcrossTheSlidingWindowMatchesTransformers(String arch) {
        LoadedModel model = MODELS.get(arch);
        JsonNode ref = REFERENCES.get(arch);
        int vocab = model.config().vocabSize();
        int[] prompt = ints(ref.get("greedy").get("prompt_ids"));
        int[] greedy = ints(ref.get("greedy").get("ids"));
        int[] forced = ints(ref.get("input_ids"));
        int forcedPrefix = 2;
        try (KvCache cache = new KvCache(manager, model.config(), 2, 4, 64)) {
            float[] a = model.transformer().forward(List.of(new ForwardStep(prompt, 0, 0, List.of(), prompt.length - 1, Set.of())), cache)
                    .get(0).logits();
            int[] forcedStart = java.util.Arrays.copyOf(forced, forcedPrefix);
            float[] b = model.transformer().forward(List.of(new ForwardStep(forcedStart, 0, 1, List.of(), forcedPrefix - 1, Set.of())), cache)
                    .get(0).logits();
            for (int step = 0; step < greedy.length; step++) {
                double da = maxDiff(ref.get("greedy").get("step_logits").get(step), a);
                assertTrue(da < TOLERANCE, arch + " free-running step " + step + ": " + da);
                int posB = forcedPrefix - 1 + step;
                double db = maxDiff(ref.get("logits").get(posB), b);
                assertTrue(db < TOLERANCE, arch + " teacher-forced position " + posB + ": " + db);
                int next = Sampler.argmax(a, 0, vocab);
                assertEquals(greedy[step], next, arch + " greedy token " + step);
                if (step + 1 == greedy.length) break;
                List<ForwardResult> out = model.transformer().forward(List.of(
                        ForwardStep.decode(next, prompt.length + step, 0, List.of()),
                        ForwardStep.decode(forced[posB + 1], posB + 1, 1, List.of())), cache);
                a = out.get(0).logits();
                b = out.get(1).logits();
            }
        }
    }

    static float[] row(float[] rows, int r, int d) {
        return java.util.Arrays.copyOfRange(rows, r * d, (r + 1) * d);
    }

    static void assertClose(JsonNode expected, float[] actual, String what) {
        assertEquals(expected.size(), actual.length, what);
        double scale = 0;
        for (JsonNode v : expected) scale = Math.max(scale, Math.abs(v.asDouble()));
        double diff = maxDiff(expected, actual);
        assertTrue(diff <= TOLERANCE * Math.max(1, scale), what + ": max |difference| " + diff + " at scale " + scale);
    }

    /** Largest |expected - actual| over a flat or nested (row-major) JSON array. */
    static double maxDiff(JsonNode expected, float[] actual) {
        List<Double> flat = new ArrayList<>();
        flatten(expected, flat);
        assertEquals(flat.size(), actual.length, "number of values");
        double max = 0;
        for (int i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(flat.get(i) - actual[i]));
        return max;
    }

    private static void flatten(JsonNode n, List<Double> out) {
        if (n.isArray()) n.forEach(c -> flatten(c, out));
        else out.add(n.asDouble());
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) array.get(i).asDouble();
        return out;
    }
}
