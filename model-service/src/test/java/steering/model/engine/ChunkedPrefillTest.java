package steering.model.engine;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.common.steer.HookPoint;
import steering.model.runtime.Intervention;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Prompts prefilled in chunks alongside running decodes (stories260K, greedy): every stream gets exactly the tokens
 * it gets alone, whatever joins, leaves or is cancelled around it, and the running streams keep producing tokens
 * while a long prompt is prefilled.
 */
class ChunkedPrefillTest {
    static NDManager manager;
    static LoadedModel model;

    @BeforeAll
    static void load() throws Exception {
        manager = NDManager.newBaseManager();
        model = ModelLoader.load(TestModels.stories260k(), manager, 512);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (manager != null) manager.close();
    }

    /** What one generation saw: its tokens, and how many tokens other streams had produced at each of its tokens. */
    record Stream(List<Integer> tokens, CompletableFuture<GenerationListener.FinishReason> finish) {}

    static Stream start(GenerationEngine engine, int[] prompt, int maxTokens, List<Intervention> ivs) {
        List<Integer> tokens = new ArrayList<>();
        CompletableFuture<GenerationListener.FinishReason> finish = new CompletableFuture<>();
        engine.generate(new GenerationRequest(prompt, maxTokens, 0f, 0, 0f, 0, List.of(), true, ivs), new GenerationListener() {
            public void onToken(int tokenId, String textDelta) {
                synchronized (tokens) { tokens.add(tokenId); }
            }
            public void onFinish(FinishReason reason, String textDelta, int promptTokens, int completionTokens) {
                finish.complete(reason);
            }
            public void onError(Throwable error) {
                finish.completeExceptionally(error);
            }
        });
        return new Stream(tokens, finish);
    }

    static List<Integer> alone(int[] prompt, int maxTokens, List<Intervention> ivs) throws Exception {
        try (GenerationEngine engine = new GenerationEngine(model, 1, 4, 4096, EngineObserver.NONE)) {
            Stream s = start(engine, prompt, maxTokens, ivs);
            s.finish().get(60, TimeUnit.SECONDS);
            return s.tokens();
        }
    }

    static int[] prompt(int length, long seed) {
        Random rnd = new Random(seed);
        int[] ids = new int[length];
        ids[0] = 1; // BOS
        for (int i = 1; i < length; i++) ids[i] = 3 + rnd.nextInt(model.config().vocabSize() - 3);
        return ids;
    }

    static List<Intervention> steer(float scale) {
        float[] v = new float[model.config().dModel()];
        Random rnd = new Random(7);
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        return List.of(new Intervention(new HookPoint(2, HookPoint.Site.POST), v, 1, scale, Intervention.Policy.ALL, 0));
    }

    @Test
    void streamsPrefilledInSmallChunksAmongDecodesMatchTheirSoloRuns() throws Exception {
        int[][] prompts = {prompt(3, 1), prompt(41, 2), prompt(9, 3), prompt(77, 4), prompt(1, 5), prompt(20, 6)};
        int[] lengths = {30, 12, 25, 8, 40, 16}; // short ones retire while long prompts are still prefilling
        List<List<Intervention>> steering = List.of(List.of(), steer(2f), List.of(), steer(0f), steer(-1.5f), List.of());
        List<List<Integer>> solo = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) solo.add(alone(prompts[i], lengths[i], steering.get(i)));
        assertNotEquals(alone(prompts[1], lengths[1], List.of()), solo.get(1), "the steered solo run differs from unsteered");
        assertEquals(alone(prompts[3], lengths[3], List.of()), solo.get(3), "scale 0 is the unsteered run");

        // a chunk of 5 tokens: long prompts take many steps, short ones share a chunk, streams join mid-way
        try (GenerationEngine engine = new GenerationEngine(model, 4, 16, 5, EngineObserver.NONE)) {
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                streams.add(start(engine, prompts[i], lengths[i], steering.get(i)));
                if (i == 2) Thread.sleep(30); // let the first ones start decoding before the rest arrive
            }
            for (int i = 0; i < prompts.length; i++) {
                assertEquals(GenerationListener.FinishReason.LENGTH, streams.get(i).finish().get(60, TimeUnit.SECONDS));
                assertEquals(solo.get(i), streams.get(i).tokens(), "stream " + i + " (prompt of " + prompts[i].length + ")");
            }
        }
    }

    @Test
    void aBatchMixingEveryKindGivesEveryStreamWhatItGetsAlone() throws Exception {
        HookPoint hook = new HookPoint(3, HookPoint.Site.PRE);
        float[] u = steer(1f).get(0).vector();
        List<List<Intervention>> kinds = List.of(
                steer(1.5f),
                List.of(Intervention.projection(Intervention.Kind.ABLATE, hook, u, 1, 0f, Intervention.Policy.ALL, 0)),
                List.of(Intervention.projection(Intervention.Kind.CLAMP, hook, u, 1, 3f, Intervention.Policy.FROM_INDEX, 4)),
                List.of(Intervention.projection(Intervention.Kind.CAP_AT_MOST, hook, u, 1, -1f, Intervention.Policy.BEFORE_INDEX, 6)),
                List.of(Intervention.saeFeature(hook, u, 0.1, u, null, 0.05, 4f, Intervention.Policy.ALL, 0)),
                List.of());
        int[][] prompts = {prompt(5, 31), prompt(12, 32), prompt(7, 33), prompt(9, 34), prompt(6, 36), prompt(3, 35)};
        List<List<Integer>> solo = new ArrayList<>();
        for (int i = 0; i < prompts.length; i++) solo.add(alone(prompts[i], 24, kinds.get(i)));
        assertNotEquals(alone(prompts[2], 24, List.of()), solo.get(2), "CLAMP changes the continuation");
        assertNotEquals(alone(prompts[4], 24, List.of()), solo.get(4), "SAE_FEATURE changes the continuation");
        try (GenerationEngine engine = new GenerationEngine(model, 8, 16, 6, EngineObserver.NONE)) {
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) streams.add(start(engine, prompts[i], 24, kinds.get(i)));
            for (int i = 0; i < prompts.length; i++) {
                streams.get(i).finish().get(60, TimeUnit.SECONDS);
                assertEquals(solo.get(i), streams.get(i).tokens(), "stream " + i);
            }
        }
    }

    @Test
    void aConditionDecidedOnThePromptSwitchesTheNewTokensSteeringOnOrOff() throws Exception {
        HookPoint at = new HookPoint(2, HookPoint.Site.POST);
        Intervention iv = steer(3f).get(0);
        float[] direction = steer(1f).get(0).vector();
        int[] prompt = prompt(23, 41);
        List<Integer> plain = alone(prompt, 20, List.of());
        // the same vector from the first new token on, unconditionally: what a met condition must give
        Intervention late = new Intervention(iv.hook(), iv.vector(), 1, iv.scale(), Intervention.Policy.FROM_INDEX, prompt.length);
        List<Integer> steered = alone(prompt, 20, List.of(late));
        assertNotEquals(plain, steered);
        double[] cosines = new double[2];
        for (int chunk : new int[]{4096, 3}) { // one forward, or eight chunks: the same decision
            for (double threshold : new double[]{-1, 1}) {
                List<Conditional.Result> seen = new ArrayList<>();
                List<Integer> tokens = new ArrayList<>();
                CompletableFuture<GenerationListener.FinishReason> done = new CompletableFuture<>();
                try (GenerationEngine engine = new GenerationEngine(model, 2, 4, chunk, EngineObserver.NONE)) {
                    engine.generate(new GenerationRequest(prompt, 20, 0f, 0, 0f, 0, List.of(), true, List.of(), -1,
                            List.of(new Conditional(0, iv, at, direction, threshold, true))), new GenerationListener() {
                        public void onToken(int tokenId, String textDelta) { tokens.add(tokenId); }
                        public void onConditions(List<Conditional.Result> results) { seen.addAll(results); }
                        public void onFinish(FinishReason r, String d, int p, int c) { done.complete(r); }
                        public void onError(Throwable error) { done.completeExceptionally(error); }
                    });
                    done.get(60, TimeUnit.SECONDS);
                }
                assertEquals(1, seen.size());
                assertEquals(threshold < 0, seen.get(0).met(), "cosine " + seen.get(0).cosine() + " vs " + threshold);
                assertEquals(threshold < 0 ? steered : plain, tokens);
                cosines[chunk == 3 ? 1 : 0] = seen.get(0).cosine();
            }
        }
        assertEquals(cosines[0], cosines[1], 1e-5, "the prompt's mean is the same whichever way it was chunked");
    }

    @Test
    void runningStreamsKeepDecodingWhileALongPromptIsPrefilled() throws Exception {
        try (GenerationEngine engine = new GenerationEngine(model, 4, 16, 8, EngineObserver.NONE)) {
            Stream running = start(engine, prompt(2, 11), 400, List.of());
            while (running.tokens().size() < 5) Thread.sleep(5);
            int[] longPrompt = prompt(200, 12); // 25 chunks of 8
            int before;
            synchronized (running.tokens()) { before = running.tokens().size(); }
            Stream late = start(engine, longPrompt, 3, List.of());
            while (late.tokens().isEmpty() && !late.finish().isDone()) Thread.sleep(1);
            int during;
            synchronized (running.tokens()) { during = running.tokens().size() - before; }
            assertTrue(during >= 24, "the running stream produced " + during + " tokens during a 25-chunk prefill");
            late.finish().get(60, TimeUnit.SECONDS);
            assertEquals(alone(longPrompt, 3, List.of()), late.tokens());
        }
    }

    @Test
    void aGenerationCancelledWhilePrefillingLeavesTheOthersIntact() throws Exception {
        int[] a = prompt(4, 21);
        int[] b = prompt(400, 22); // 400 steps of one token: still prefilling when cancelled
        int[] c = prompt(30, 23);
        List<Integer> soloA = alone(a, 60, List.of());
        List<Integer> soloC = alone(c, 20, List.of());
        try (GenerationEngine engine = new GenerationEngine(model, 4, 16, 1, EngineObserver.NONE)) {
            Stream sa = start(engine, a, 60, List.of());
            List<Integer> tokensB = new ArrayList<>();
            CompletableFuture<GenerationListener.FinishReason> finishB = new CompletableFuture<>();
            GenerationEngine.Handle hb = engine.generate(new GenerationRequest(b, 10, 0f, 0, 0f, 0, List.of(), true, List.of()),
                    new GenerationListener() {
                        public void onToken(int tokenId, String textDelta) { tokensB.add(tokenId); }
                        public void onFinish(FinishReason reason, String d, int p, int n) { finishB.complete(reason); }
                        public void onError(Throwable error) { finishB.completeExceptionally(error); }
                    });
            Stream sc = start(engine, c, 20, List.of()); // behind b: its slot moves down when b leaves
            Thread.sleep(20);
            hb.cancel();
            assertEquals(GenerationListener.FinishReason.CANCELLED, finishB.get(60, TimeUnit.SECONDS));
            assertTrue(tokensB.isEmpty(), "cancelled before its first token");
            sa.finish().get(60, TimeUnit.SECONDS);
            sc.finish().get(60, TimeUnit.SECONDS);
            assertEquals(soloA, sa.tokens());
            assertEquals(soloC, sc.tokens());
        }
    }
}
