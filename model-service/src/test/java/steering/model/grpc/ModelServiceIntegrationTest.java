package steering.model.grpc;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import steering.common.grpc.RawCalls;
import steering.common.tensor.TensorCodec;
import steering.model.TestModels;
import steering.v1.*;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;
import static steering.common.grpc.RawCalls.field;
import static steering.common.grpc.RawCalls.status;
import static steering.model.grpc.Wire.*;

/** model-service end to end: a real gRPC server on loopback serving the real stories260K model. */
class ModelServiceIntegrationTest {
    static LoopbackModelService svc;
    static int[] golden;

    @BeforeAll
    static void start() throws Exception {
        svc = new LoopbackModelService(TestModels.stories260k(), 4, 512);
        golden = Arrays.stream(Files.readString(TestModels.stories260k().resolve("golden-greedy-200.ids")).trim().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();
    }

    @AfterAll
    static void stop() throws Exception {
        svc.close();
    }

    @Test
    void modelInfoDescribesTheModel() {
        ModelInfo info = svc.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertEquals("llama", info.getArchitecture());
        assertEquals(64, info.getDModel());
        assertEquals(5, info.getNLayers());
        assertEquals(512, info.getVocabSize());
        assertEquals(15, info.getHookPointsCount());
        assertEquals("blocks.0.hook_resid_pre", info.getHookPoints(0));
        assertEquals("blocks.4.hook_resid_post", info.getHookPoints(14));
        assertEquals(1, info.getBosTokenId());
        assertTrue(info.getEosTokenIdsList().contains(2));
    }

    @Test
    void tokenizeAndDetokenizeRoundTrip() {
        TokenizeResponse t = svc.blocking().tokenize(TokenizeRequest.newBuilder().setPrompt(text("Once upon a time")).build());
        assertEquals(1, t.getIds(0), "BOS is prepended by default for this Llama tokenizer");
        assertEquals(t.getIdsCount(), t.getTokensCount());
        String back = svc.blocking().detokenize(DetokenizeRequest.newBuilder()
                .addAllIds(t.getIdsList()).setSkipSpecialTokens(true).build()).getText();
        assertEquals("Once upon a time", back.strip());
    }

    @Test
    void greedyGenerationFromBosMatchesTheGoldenDecode() {
        Generated g = collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(tokens(1)).setSampling(greedy(60).toBuilder().setIgnoreEos(true)).build()));
        assertEquals(60, g.tokens().size());
        for (int i = 0; i < 60; i++) assertEquals(golden[i + 1], g.tokens().get(i), "token " + i);
        assertEquals(FinishReason.FINISH_REASON_LENGTH, g.finish());
        assertEquals(1, g.usage().getPromptTokens());
        assertEquals(60, g.usage().getCompletionTokens());
        assertEquals(List.of(1), g.promptIds());
        String decoded = svc.blocking().detokenize(DetokenizeRequest.newBuilder().addAllIds(g.tokens()).setSkipSpecialTokens(true).build()).getText();
        assertEquals(decoded, g.text(), "the streamed deltas add up to the decoded text");
    }

    @Test
    void concurrentRequestsAreBatchedAndEachGetsItsOwnResult() throws Exception {
        String[] prompts = {"Once upon a time", "Lily and Tom", "The dog was", "One day, a little bird"};
        List<Generated> solo = new ArrayList<>();
        for (String p : prompts) solo.add(collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(text(p)).setSampling(greedy(40).toBuilder().setIgnoreEos(true)).build())));
        List<CompletableFuture<Generated>> together = new ArrayList<>();
        for (String p : prompts) {
            together.add(CompletableFuture.supplyAsync(() -> collect(svc.blocking().generate(GenerateRequest.newBuilder()
                    .setPrompt(text(p)).setSampling(greedy(40).toBuilder().setIgnoreEos(true)).build()))));
        }
        for (int i = 0; i < prompts.length; i++) {
            assertEquals(solo.get(i).tokens(), together.get(i).get(60, TimeUnit.SECONDS).tokens(), prompts[i]);
        }
    }

    @Test
    void seededSamplingIsReproducible() {
        SamplingParams sampling = SamplingParams.newBuilder().setMaxTokens(30).setTemperature(1.0f).setTopP(0.9f)
                .setTopK(40).setSeed(1234).setIgnoreEos(true).build();
        GenerateRequest req = GenerateRequest.newBuilder().setPrompt(text("Once upon a time")).setSampling(sampling).build();
        Generated a = collect(svc.blocking().generate(req));
        Generated b = collect(svc.blocking().generate(req));
        assertEquals(a.tokens(), b.tokens());
        Generated c = collect(svc.blocking().generate(req.toBuilder().setSampling(sampling.toBuilder().setSeed(99)).build()));
        assertNotEquals(a.tokens(), c.tokens(), "another seed samples another continuation");
    }

    @Test
    void stopStringEndsGenerationAndIsNotReturned() {
        Generated full = collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(tokens(1)).setSampling(greedy(60).toBuilder().setIgnoreEos(true)).build()));
        assertTrue(full.text().contains("Lily"), full.text());
        Generated stopped = collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(tokens(1)).setSampling(greedy(60).toBuilder().setIgnoreEos(true).addStop("Lily")).build()));
        assertEquals(FinishReason.FINISH_REASON_STOP_STRING, stopped.finish());
        assertEquals(full.text().substring(0, full.text().indexOf("Lily")), stopped.text());
    }

    @Test
    void cancellingTheCallStopsTheGeneration() throws Exception {
        CountDownLatch firstTokens = new CountDownLatch(3);
        AtomicInteger received = new AtomicInteger();
        Context.CancellableContext ctx = Context.current().withCancellation();
        ctx.run(() -> svc.async().generate(GenerateRequest.newBuilder().setPrompt(tokens(1))
                .setSampling(greedy(500).toBuilder().setIgnoreEos(true)).build(), new StreamObserver<>() {
            public void onNext(GenerateResponse r) {
                received.incrementAndGet();
                firstTokens.countDown();
            }
            public void onError(Throwable t) {}
            public void onCompleted() {}
        }));
        assertTrue(firstTokens.await(30, TimeUnit.SECONDS));
        ctx.cancel(null);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (svc.engine.activeSequences() > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        assertEquals(0, svc.engine.activeSequences(), "the engine dropped the cancelled sequence");
        assertTrue(received.get() < 500);
    }

    @Test
    void scoreGivesPerTokenLogprobsConsistentWithGreedyDecoding() {
        int[] prefix = Arrays.copyOfRange(golden, 0, 10);
        int[] continuation = Arrays.copyOfRange(golden, 10, 30);
        TokenIds.Builder cont = TokenIds.newBuilder();
        for (int id : continuation) cont.addIds(id);
        ScoreResponse s = svc.blocking().score(ScoreRequest.newBuilder().setPrompt(tokens(prefix))
                .setContinuationTokens(cont).build());
        assertEquals(20, s.getLogprobsCount());
        double sum = 0;
        for (int i = 0; i < 20; i++) {
            assertTrue(s.getLogprobs(i) <= 0f);
            assertEquals(continuation[i], s.getGreedyTokenIds(i), "the golden decode is greedy, so each token is the argmax");
            sum += s.getLogprobs(i);
        }
        assertEquals(sum, s.getTotalLogprob(), 1e-4);
        assertEquals(10, s.getPromptTokens());
    }

    @Test
    void captureActivationsReadsEveryHookConsistently() {
        Iterator<CaptureActivationsResponse> it = svc.blocking().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(text("Once upon a time")).addInputs(text("The cat sat"))
                .addHooks(HookPoint.newBuilder().setName("blocks.1.hook_resid_post"))
                .addHooks(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                .addHooks(HookPoint.newBuilder().setName("blocks.2.hook_resid_mid")).build());
        List<CaptureActivationsResponse> all = new ArrayList<>();
        it.forEachRemaining(all::add);
        assertEquals(6, all.size());
        CaptureActivationsResponse post1 = all.get(0);
        CaptureActivationsResponse pre2 = all.get(1);
        CaptureActivationsResponse mid2 = all.get(2);
        assertEquals("blocks.1.hook_resid_post", post1.getHook());
        int n = post1.getTokenIdsCount();
        assertEquals(List.of((long) n, 64L), post1.getActivations().getShapeList());
        assertArrayEquals(TensorCodec.toFloats(post1.getActivations()), TensorCodec.toFloats(pre2.getActivations()),
                "resid_post of block 1 is resid_pre of block 2");
        assertFalse(Arrays.equals(TensorCodec.toFloats(pre2.getActivations()), TensorCodec.toFloats(mid2.getActivations())));
        assertEquals(1, all.get(3).getInputIndex());

        // MEAN over selected positions equals the mean of the PER_TOKEN rows
        float[] rows = TensorCodec.toFloats(post1.getActivations());
        CaptureActivationsResponse mean = svc.blocking().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(text("Once upon a time")).addHooks(HookPoint.newBuilder().setName("blocks.1.hook_resid_post"))
                .setReduction(Reduction.MEAN).setSelection(PositionSelection.newBuilder().setExcludeBos(true)).build()).next();
        assertEquals(List.of(64L), mean.getActivations().getShapeList());
        float[] m = TensorCodec.toFloats(mean.getActivations());
        for (int j = 0; j < 64; j++) {
            double acc = 0;
            for (int t = 1; t < n; t++) acc += rows[t * 64 + j];
            assertEquals(acc / (n - 1), m[j], 1e-5);
        }
        CaptureActivationsResponse last = svc.blocking().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(text("Once upon a time")).addHooks(HookPoint.newBuilder().setName("blocks.1.hook_resid_post"))
                .setSelection(PositionSelection.newBuilder().addPositions(-1)).build()).next();
        assertEquals(List.of(n - 1), last.getPositionsList());
        assertArrayEquals(Arrays.copyOfRange(rows, (n - 1) * 64, n * 64), TensorCodec.toFloats(last.getActivations()));
    }

    @Test
    void steeringRaisesTheTargetLogprobWithScaleAndScaleZeroIsExactlyUnsteered() {
        String hook = "blocks.2.hook_resid_pre";
        float[] v = minus(meanActivation(svc.blocking(), "The dog barked at the dog. The dog ran.", hook),
                meanActivation(svc.blocking(), "The girl sang a song. The girl smiled.", hook));
        double previous = Double.NEGATIVE_INFINITY;
        double first = 0;
        for (double scale : new double[]{0, 1, 2, 4}) {
            ScoreResponse s = svc.blocking().score(ScoreRequest.newBuilder().setPrompt(text("Once upon a time, there was a"))
                    .setContinuationText(" dog").addInterventions(intervention(hook, v, scale, PositionPolicy.ALL)).build());
            if (scale == 0) first = s.getTotalLogprob();
            assertTrue(s.getTotalLogprob() > previous, "log p(' dog') rises with scale: " + s.getTotalLogprob() + " at " + scale);
            previous = s.getTotalLogprob();
        }
        assertTrue(previous > first + 1.0, "scale 4 raises log p(' dog') by more than 1 nat: " + first + " -> " + previous);

        GenerateRequest plain = GenerateRequest.newBuilder().setPrompt(text("Once upon a time"))
                .setSampling(greedy(40).toBuilder().setIgnoreEos(true)).build();
        Generated unsteered = collect(svc.blocking().generate(plain));
        Generated zero = collect(svc.blocking().generate(plain.toBuilder()
                .addInterventions(intervention(hook, v, 0.0, PositionPolicy.ALL)).build()));
        // the vector points from "girl" text to "dog" text: at scale 1 the story's girl is gone
        Generated steered = collect(svc.blocking().generate(plain.toBuilder()
                .addInterventions(intervention(hook, v, 1.0, PositionPolicy.ALL)).build()));
        assertEquals(unsteered.tokens(), zero.tokens());
        assertNotEquals(unsteered.tokens(), steered.tokens());
        assertTrue(count(unsteered.text(), "girl") > 0, unsteered.text());
        assertEquals(0, count(steered.text(), "girl"), steered.text());
    }

    @Test
    void fromIndexLeavesEarlierPositionsAlone() {
        String hook = "blocks.1.hook_resid_post";
        float[] v = new float[64];
        Arrays.fill(v, 0.5f);
        Intervention fromThree = intervention(hook, v, 1.0, PositionPolicy.FROM_INDEX).toBuilder().setFromIndex(3).build();
        CaptureActivationsRequest.Builder req = CaptureActivationsRequest.newBuilder().addInputs(text("Once upon a time there"))
                .addHooks(HookPoint.newBuilder().setName("blocks.3.hook_resid_post"));
        float[] plain = TensorCodec.toFloats(svc.blocking().captureActivations(req.build()).next().getActivations());
        float[] steered = TensorCodec.toFloats(svc.blocking().captureActivations(req.addInterventions(fromThree).build()).next().getActivations());
        assertArrayEquals(Arrays.copyOfRange(plain, 0, 3 * 64), Arrays.copyOfRange(steered, 0, 3 * 64));
        assertFalse(Arrays.equals(Arrays.copyOfRange(plain, 3 * 64, 4 * 64), Arrays.copyOfRange(steered, 3 * 64, 4 * 64)));
    }

    @Test
    void promptFrontAddsRowIToPositionIOnly() {
        String hook = "blocks.0.hook_resid_pre";
        float[] rows = new float[2 * 64];
        Arrays.fill(rows, 1.0f);
        Intervention front = Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(rows, 2, 64)).setScale(1.0).setPositions(PositionPolicy.PROMPT_FRONT).build();
        CaptureActivationsRequest.Builder req = CaptureActivationsRequest.newBuilder().addInputs(text("Once upon a time"))
                .addHooks(HookPoint.newBuilder().setName(hook));
        float[] plain = TensorCodec.toFloats(svc.blocking().captureActivations(req.build()).next().getActivations());
        float[] steered = TensorCodec.toFloats(svc.blocking().captureActivations(req.addInterventions(front).build()).next().getActivations());
        for (int j = 0; j < 2 * 64; j++) assertEquals(plain[j] + 1.0f, steered[j], 1e-6);
        assertArrayEquals(Arrays.copyOfRange(plain, 2 * 64, plain.length), Arrays.copyOfRange(steered, 2 * 64, steered.length));
    }

    @Test
    void badInputIsRejectedWithInvalidArgumentNamingTheField() {
        float[] ok = new float[64];
        float[] nan = new float[64];
        nan[3] = Float.NaN;
        GenerateRequest base = GenerateRequest.newBuilder().setPrompt(text("Once")).setSampling(greedy(4)).build();
        assertInvalid("interventions[0].hook.name", () -> collect(svc.blocking().generate(base.toBuilder()
                .addInterventions(intervention("blocks.9.hook_resid_post", ok, 1, PositionPolicy.ALL)).build())));
        assertInvalid("interventions[0].hook.name", () -> collect(svc.blocking().generate(base.toBuilder()
                .addInterventions(intervention("resid", ok, 1, PositionPolicy.ALL)).build())));
        assertInvalid("interventions[0].vector", () -> collect(svc.blocking().generate(base.toBuilder()
                .addInterventions(intervention("blocks.1.hook_resid_post", new float[65], 1, PositionPolicy.ALL)).build())));
        assertInvalid("interventions[0].vector", () -> collect(svc.blocking().generate(base.toBuilder()
                .addInterventions(intervention("blocks.1.hook_resid_post", nan, 1, PositionPolicy.ALL)).build())));
        assertInvalid("interventions[0].scale", () -> collect(svc.blocking().generate(base.toBuilder()
                .addInterventions(intervention("blocks.1.hook_resid_post", ok, Double.POSITIVE_INFINITY, PositionPolicy.ALL)).build())));
        assertInvalid("prompt.text", () -> collect(svc.blocking().generate(base.toBuilder().setPrompt(text("")).build())));
        assertInvalid("prompt.tokens.ids[1]", () -> collect(svc.blocking().generate(base.toBuilder().setPrompt(tokens(1, 9999)).build())));
        assertInvalid("continuation_tokens.ids[0]", () -> svc.blocking().score(ScoreRequest.newBuilder().setPrompt(text("Hi"))
                .setContinuationTokens(TokenIds.newBuilder().addIds(-1)).build()));
        assertInvalid("sampling.max_tokens", () -> collect(svc.blocking().generate(base.toBuilder().setSampling(greedy(-1)).build())));
        // above what the request may hold, max_tokens is capped (the contract), not refused: 512 - the prompt's tokens
        Generated capped = collect(svc.blocking().generate(base.toBuilder()
                .setSampling(greedy(100000).toBuilder().setIgnoreEos(true)).build()));
        assertEquals(512 - capped.usage().getPromptTokens(), capped.tokens().size());
        assertEquals(FinishReason.FINISH_REASON_LENGTH, capped.finish());
        assertInvalid("interventions[0].hook.name", () -> collect(svc.blocking().generate(base.toBuilder()
                .addInterventions(intervention(" blocks.1.hook_resid_post", ok, 1, PositionPolicy.ALL)).build())));
        assertInvalid("interventions[0].hook.name", () -> collect(svc.blocking().generate(base.toBuilder()
                .addInterventions(intervention("blocks.1.hook_resid_post\u0000", ok, 1, PositionPolicy.ALL)).build())));
        assertInvalid("sampling.top_p", () -> collect(svc.blocking().generate(base.toBuilder()
                .setSampling(greedy(4).toBuilder().setTopP(1.5f)).build())));
        int[] tooLong = new int[600];
        Arrays.fill(tooLong, 5);
        assertInvalid("prompt", () -> collect(svc.blocking().generate(base.toBuilder().setPrompt(tokens(tooLong)).build())));
        assertInvalid("prompt.chat", () -> collect(svc.blocking().generate(base.toBuilder().setPrompt(Prompt.newBuilder()
                .setChat(ChatMessages.newBuilder().addMessages(ChatMessage.newBuilder().setRole("user").setContent("hi")))).build())));
        assertInvalid("hooks", () -> svc.blocking().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(text("x")).build()).next());
        assertInvalid("continuation", () -> svc.blocking().score(ScoreRequest.newBuilder().setPrompt(text("x")).build()));
        // the service is still healthy after all that
        assertEquals(5, svc.blocking().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getNLayers());
    }

    @Test
    void aResidualStreamThatOverflowsEndsTheRequestWithTheReason() {
        float[] huge = new float[64];
        Arrays.fill(huge, 3e38f);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(text("Once")).setSampling(greedy(50).toBuilder().setIgnoreEos(true))
                .addInterventions(intervention("blocks.1.hook_resid_post", huge, 1e6, PositionPolicy.ALL)).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().startsWith("interventions: the residual stream became non-finite after 0 generated tokens"),
                e.getStatus().getDescription());
        // the engine goes on: the golden decode is unchanged
        Generated g = collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(tokens(1)).setSampling(greedy(20).toBuilder().setIgnoreEos(true)).build()));
        for (int i = 0; i < 20; i++) assertEquals(golden[i + 1], g.tokens().get(i), "token " + i);
    }

    private static void assertInvalid(String field, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().startsWith(field + ":"), e.getStatus().getDescription());
    }

    private static int count(String text, String word) {
        int n = 0;
        for (int i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) n++;
        return n;
    }

    // ---- what a hostile client sends: INVALID_ARGUMENT naming the field or the limit, and the service goes on ----

    static final byte[] BAD_UTF8 = {'o', 'k', (byte) 0xED, (byte) 0xA0, (byte) 0x80};

    static void assertRefused(String expectedStart, Status s) {
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), s.toString());
        assertTrue(s.getDescription().startsWith(expectedStart), s.getDescription());
    }

    @Test
    void aFifteenMegabytePromptIsRefusedBeforeTokenizingAndTheServiceGoesOn() {
        String huge = "Once upon a time ".repeat(15_000_000 / 17);
        long start = System.nanoTime();
        Status generate = status(() -> collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(text(huge)).setSampling(greedy(4)).build())));
        assertRefused("prompt.text: the text has more than 16384 bytes of UTF-8, the limit of a text field is 16384", generate);
        Status tokenize = status(() -> svc.blocking().tokenize(TokenizeRequest.newBuilder().setPrompt(text(huge)).build()));
        assertRefused("prompt.text: ", tokenize);
        assertTrue(System.nanoTime() - start < 20_000_000_000L, "refused without tokenizing");
        Generated after = collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(text("Once upon a time")).setSampling(greedy(8)).build()));
        assertEquals(8, after.tokens().size());
    }

    @Test
    void everyTextAndListOfARequestIsBounded() {
        String big = "é".repeat(9000); // 18000 bytes of UTF-8 in 9000 characters
        assertRefused("prompt.text: the text has 18000 bytes of UTF-8, the limit of a text field is 16384",
                status(() -> svc.blocking().tokenize(TokenizeRequest.newBuilder().setPrompt(text(big)).build())));
        assertRefused("continuation_text: the text has 18000 bytes",
                status(() -> svc.blocking().score(ScoreRequest.newBuilder().setPrompt(text("a")).setContinuationText(big).build())));
        CaptureActivationsRequest.Builder capture = CaptureActivationsRequest.newBuilder()
                .addHooks(HookPoint.newBuilder().setName("blocks.0.hook_resid_post"));
        for (int i = 0; i < 300; i++) capture.addInputs(text("a"));
        assertRefused("inputs: 300 inputs is over the limit of 256",
                status(() -> svc.blocking().captureActivations(capture.build()).hasNext()));
        CaptureActivationsRequest.Builder texts = CaptureActivationsRequest.newBuilder()
                .addHooks(HookPoint.newBuilder().setName("blocks.0.hook_resid_post"));
        for (int i = 0; i < 20; i++) texts.addInputs(text("x".repeat(16000)));
        assertRefused("inputs: the texts have 320000 bytes of UTF-8 together, the limit is 262144",
                status(() -> svc.blocking().captureActivations(texts.build()).hasNext()));
        DetokenizeRequest.Builder ids = DetokenizeRequest.newBuilder();
        for (int i = 0; i < 600; i++) ids.addIds(5);
        assertRefused("ids: 600 token ids is over the limit of 512", status(() -> svc.blocking().detokenize(ids.build())));
        SamplingParams.Builder stops = SamplingParams.newBuilder().setMaxTokens(2);
        for (int i = 0; i < 17; i++) stops.addStop("s" + i);
        assertRefused("sampling.stop: 17 stop strings is over the limit of 16", status(() -> collect(svc.blocking()
                .generate(GenerateRequest.newBuilder().setPrompt(text("a")).setSampling(stops).build()))));
    }

    @Test
    void invalidUtf8InAStringFieldIsNamed() {
        // GenerateRequest.prompt(1).text(1); ScoreRequest.continuation_text(2)
        assertRefused("prompt.text: invalid UTF-8",
                RawCalls.call(svc.channel, ModelServiceGrpc.getGenerateMethod(), field(1, field(1, BAD_UTF8))));
        assertRefused("continuation_text: invalid UTF-8",
                RawCalls.call(svc.channel, ModelServiceGrpc.getScoreMethod(), field(2, BAD_UTF8)));
        // CaptureActivationsRequest.hooks(2)[1].name(1)
        byte[] hooks = RawCalls.concat(field(2, field(1, "blocks.0.hook_resid_post".getBytes())), field(2, field(1, BAD_UTF8)));
        assertRefused("hooks[1].name: invalid UTF-8", RawCalls.call(svc.channel, ModelServiceGrpc.getCaptureActivationsMethod(), hooks));
    }

    @Test
    void randomBytesAreNotARequest() {
        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            byte[] garbage = new byte[8 + random.nextInt(200)];
            random.nextBytes(garbage);
            garbage[0] = (byte) 0xFF; // an invalid tag: never a valid message
            assertRefused("the request is not a valid steering.v1.GenerateRequest",
                    RawCalls.call(svc.channel, ModelServiceGrpc.getGenerateMethod(), garbage));
        }
        assertEquals(8, collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(text("Once upon a time")).setSampling(greedy(8)).build())).tokens().size());
    }

    @Test
    void unknownEnumNumbersAreNamedWithTheAllowedValues() {
        assertRefused("reduction: 7 is not a known Reduction; allowed: REDUCTION_UNSPECIFIED (0), PER_TOKEN (1), MEAN (2)",
                status(() -> svc.blocking().captureActivations(CaptureActivationsRequest.newBuilder().addInputs(text("a"))
                        .addHooks(HookPoint.newBuilder().setName("blocks.0.hook_resid_post")).setReductionValue(7).build()).hasNext()));
        assertRefused("interventions[0].positions: -1 is not a known PositionPolicy; allowed: POSITION_POLICY_UNSPECIFIED (0), ALL (1)",
                status(() -> collect(svc.blocking().generate(GenerateRequest.newBuilder().setPrompt(text("a"))
                        .addInterventions(Intervention.newBuilder().setPositionsValue(-1)).build()))));
    }
}
