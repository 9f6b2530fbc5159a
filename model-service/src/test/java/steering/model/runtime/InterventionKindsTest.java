package steering.model.runtime;

import steering.common.steer.HookPoint;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * ABLATE, CLAMP, CAP and SAE_FEATURE at a hook against a plain-Java reference of their formulas on the residual captured there
 * without them (the hook's own read sees the residual after its interventions), on stories260K and SmolLM2.
 */
class InterventionKindsTest {
    static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    @Test
    void everyKindMatchesItsFormulaOnStories260k() throws Exception {
        check(TestModels.stories260k(), 2, "Once upon a time there was a little dog");
    }

    @Test
    void everyKindMatchesItsFormulaOnSmolLM2() throws Exception {
        check(TestModels.smollm2(), 15, "The weather today is sunny and warm, so we");
    }

    private static void check(Path path, int layer, String text) throws Exception {
        try (LoadedModel model = ModelLoader.load(path, manager, 512)) {
            int d = model.config().dModel();
            HookPoint hook = new HookPoint(layer, HookPoint.Site.POST);
            int[] ids = model.tokenizer().encode(text, model.tokenizer().addsBosByDefault());
            int t = ids.length;
            float[] h0 = capture(model, ids, hook, List.of());
            float[] u = unit(random(d, 1));
            float[] two = concat(random(d, 2), random(d, 3));
            float typical = (float) Math.sqrt(dot(h0, h0, 0, 0, d)) / 4;

            // ABLATE of a two-direction span: h - U^T U h
            Intervention ablate = Intervention.projection(Intervention.Kind.ABLATE, hook, two, 2, 0f, Intervention.Policy.ALL, 0);
            float[] got = capture(model, ids, hook, List.of(ablate));
            for (int p = 0; p < t; p++) {
                float[] expected = java.util.Arrays.copyOfRange(h0, p * d, (p + 1) * d);
                for (int k = 0; k < 2; k++) {
                    double proj = dot(h0, ablate.vector(), p * d, k * d, d);
                    for (int j = 0; j < d; j++) expected[j] -= (float) (proj * ablate.vector()[k * d + j]);
                }
                assertRow(expected, got, p, d, "ABLATE");
                for (int k = 0; k < 2; k++) {
                    double left = dot(got, ablate.vector(), p * d, k * d, d);
                    assertTrue(Math.abs(left) <= 1e-5 * norm(got, p, d) + 1e-6, "ABLATE leaves " + left + " at " + p);
                }
            }
            // CLAMP to c, and the caps, from position 2 on (BEFORE_INDEX-free positions stay as they were)
            for (Intervention.Kind kind : List.of(Intervention.Kind.CLAMP, Intervention.Kind.CAP_AT_MOST, Intervention.Kind.CAP_AT_LEAST)) {
                float c = kind == Intervention.Kind.CAP_AT_LEAST ? typical : -typical;
                Intervention iv = Intervention.projection(kind, hook, u, 1, c, Intervention.Policy.FROM_INDEX, 2);
                got = capture(model, ids, hook, List.of(iv));
                for (int p = 0; p < t; p++) {
                    float[] expected = java.util.Arrays.copyOfRange(h0, p * d, (p + 1) * d);
                    double proj = dot(h0, iv.vector(), p * d, 0, d);
                    double target = p < 2 ? proj : switch (kind) {
                        case CLAMP -> c;
                        case CAP_AT_MOST -> Math.min(proj, c);
                        default -> Math.max(proj, c);
                    };
                    for (int j = 0; j < d; j++) expected[j] += (float) ((target - proj) * iv.vector()[j]);
                    assertRow(expected, got, p, d, kind.name());
                    if (p >= 2 && kind == Intervention.Kind.CLAMP) {
                        assertEquals(c, dot(got, iv.vector(), p * d, 0, d), 1e-4 * (1 + Math.abs(c)), "CLAMP sets h.u to c");
                    }
                }
            }
            // PROMPT_ONLY is BEFORE_INDEX at the prompt length: here positions < 3 only
            Intervention early = Intervention.projection(Intervention.Kind.ABLATE, hook, u, 1, 0f, Intervention.Policy.BEFORE_INDEX, 3);
            got = capture(model, ids, hook, List.of(early));
            for (int j = 3 * d; j < t * d; j++) assertEquals(h0[j], got[j], "positions from 3 on are untouched");
            assertTrue(Math.abs(dot(got, u, 0, 0, d)) <= 1e-5 * norm(got, 0, d) + 1e-6);
        }
    }

    @Test
    void saeFeatureMatchesItsFormulaOnStories260k() throws Exception {
        try (LoadedModel model = ModelLoader.load(TestModels.stories260k(), manager, 512)) {
            String text = "Once upon a time there was a little dog who liked to run in the park";
            checkSaeFeature(model, 3, model.tokenizer().encode(text, model.tokenizer().addsBosByDefault()));
        }
    }

    @Test
    void saeFeatureMatchesItsFormulaOnGemma2() throws Exception {
        Path dir = Path.of(InterventionKindsTest.class.getResource("/reference/gemma2-tiny-random").toURI());
        try (LoadedModel model = ModelLoader.load(dir, manager, 0)) {
            checkSaeFeature(model, 1, new int[]{2, 17, 5, 91, 33, 8, 64, 12, 40, 7, 3, 21});
        }
    }

    /**
     * SAE_FEATURE with a synthetic feature (random encoder column, decoder row and b_dec; the bias puts half of the
     * positions below zero) as ReLU and as JumpReLU, from position 1 on: h + (c - f) d with f = act(e.(h - b_dec) + b_e)
     * computed here in double precision on the residual captured without it. The decoder row is e / |e|^2, so where
     * the feature was active the re-encoded feature is c exactly.
     */
    private static void checkSaeFeature(LoadedModel model, int layer, int[] ids) {
        int d = model.config().dModel();
        int t = ids.length;
        HookPoint hook = new HookPoint(layer, HookPoint.Site.MID);
        float[] h0 = capture(model, ids, hook, List.of());
        float[] bDec = random(d, 11);
        for (int j = 0; j < d; j++) bDec[j] *= 0.05f;
        float[] e = unit(random(d, 12));
        float scaleE = (float) (2 / (norm(h0, t - 1, d) + 1e-6));
        for (int j = 0; j < d; j++) e[j] *= scaleE;
        double ee = dot(e, e, 0, 0, d);
        float[] dec = new float[d];
        for (int j = 0; j < d; j++) dec[j] = (float) (e[j] / ee);
        double[] raw = new double[t];
        for (int p = 0; p < t; p++) {
            for (int j = 0; j < d; j++) raw[p] += (double) e[j] * (h0[p * d + j] - bDec[j]);
        }
        double[] sorted = raw.clone();
        java.util.Arrays.sort(sorted);
        double bE = -sorted[t / 2] + 1e-3;
        float c = 1.5f;
        for (double threshold : new double[]{Double.NaN, (sorted[(3 * t) / 4] - sorted[t / 2]) / 2}) {
            Intervention iv = Intervention.saeFeature(hook, e, bE, dec, bDec, threshold, c, Intervention.Policy.FROM_INDEX, 1);
            float[] got = capture(model, ids, hook, List.of(iv));
            int active = 0, inactive = 0;
            for (int p = 0; p < t; p++) {
                double pre = raw[p] + bE;
                double f = pre > 0 && (Double.isNaN(threshold) || pre > threshold) ? pre : 0;
                float[] expected = java.util.Arrays.copyOfRange(h0, p * d, (p + 1) * d);
                if (p >= 1) {
                    for (int j = 0; j < d; j++) expected[j] += (float) ((c - f) * dec[j]);
                    if (f > 0) active++;
                    else inactive++;
                }
                assertRow(expected, got, p, d, "SAE_FEATURE (threshold " + threshold + ")");
                if (p >= 1 && f > 0) {
                    double reencoded = bE;
                    for (int j = 0; j < d; j++) reencoded += (double) e[j] * (got[p * d + j] - bDec[j]);
                    assertEquals(c, reencoded, 1e-4, "the active feature is moved to c at position " + p);
                }
            }
            assertTrue(active > 0 && inactive > 0, "both branches of the activation are exercised: " + active + " active, " + inactive + " not");
        }
    }

    @Test
    void badDirectionsAndValuesAreRefusedWithTheReason() {
        HookPoint hook = new HookPoint(0, HookPoint.Site.POST);
        float[] v = random(8, 4);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Intervention.projection(Intervention.Kind.CLAMP,
                hook, new float[8], 1, 1f, Intervention.Policy.ALL, 0)).getMessage().contains("direction 0 is zero"));
        float[] dependent = concat(v, v);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Intervention.projection(Intervention.Kind.ABLATE,
                hook, dependent, 2, 0f, Intervention.Policy.ALL, 0)).getMessage().contains("span"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Intervention.projection(Intervention.Kind.CAP_AT_MOST,
                hook, dependent, 2, 0f, Intervention.Policy.ALL, 0)).getMessage().contains("one direction"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Intervention.projection(Intervention.Kind.CLAMP,
                hook, v, 1, Float.NaN, Intervention.Policy.ALL, 0)).getMessage().contains("not finite"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Intervention.projection(Intervention.Kind.CLAMP,
                hook, v, 1, 1f, Intervention.Policy.PROMPT_FRONT, 0)).getMessage().contains("PROMPT_FRONT"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Intervention.saeFeature(hook, v, 0, new float[8], null,
                Double.NaN, 1f, Intervention.Policy.ALL, 0)).getMessage().contains("decoder row is zero"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Intervention.saeFeature(hook, v, 0, v, null,
                Double.NaN, Float.POSITIVE_INFINITY, Intervention.Policy.ALL, 0)).getMessage().contains("not finite"));
        Intervention ok = Intervention.projection(Intervention.Kind.ABLATE, hook, concat(v, random(8, 5)), 2, 0f,
                Intervention.Policy.ALL, 0);
        assertEquals(1.0, dot(ok.vector(), ok.vector(), 0, 0, 8), 1e-6);
        assertEquals(0.0, dot(ok.vector(), ok.vector(), 0, 8, 8), 1e-6, "orthonormal rows");
    }

    private static float[] capture(LoadedModel model, int[] ids, HookPoint hook, List<Intervention> ivs) {
        return model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, ivs, ids.length, Set.of(hook))), null)
                .get(0).captured().get(hook);
    }

    private static void assertRow(float[] expected, float[] got, int p, int d, String what) {
        for (int j = 0; j < d; j++) {
            assertEquals(expected[j], got[p * d + j], 1e-5 * (1 + Math.abs(expected[j])), what + " at position " + p + ", dim " + j);
        }
    }

    private static double dot(float[] a, float[] b, int ao, int bo, int d) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double) a[ao + j] * b[bo + j];
        return s;
    }

    private static double norm(float[] a, int p, int d) {
        return Math.sqrt(dot(a, a, p * d, p * d, d));
    }

    private static float[] random(int d, long seed) {
        Random rnd = new Random(seed);
        float[] v = new float[d];
        for (int i = 0; i < d; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    private static float[] unit(float[] v) {
        double n = Math.sqrt(dot(v, v, 0, 0, v.length));
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) (v[i] / n);
        return out;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
