package steering.gateway;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import steering.common.ops.OperationRegistry;
import steering.common.tensor.TensorCodec;
import steering.gateway.eval.ChatJudge;
import steering.gateway.eval.EmbeddingJudge;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.gateway.mesh.MeshClients;
import steering.gateway.openai.OpenAiCompat;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.v1.*;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Evaluate end to end on stories260K with the offline embedding judge; the chat judge against a real local server. */
class EvaluateAndJudgesTest {

    record Mesh(NDManager manager, LoadedModel model, GenerationEngine engine, Server server, MeshClients clients) implements AutoCloseable {
        static Mesh start(Path modelPath) throws Exception {
            return start(modelPath, 0);
        }

        static Mesh start(Path modelPath, int port) throws Exception {
            return start(modelPath, port, 8, 256);
        }

        /** model-service with a batch of {@code maxBatch} and {@code queue} queued requests (its defaults: 8 and 64). */
        static Mesh startWithQueue(Path modelPath, int maxBatch, int queue) throws Exception {
            return start(modelPath, 0, maxBatch, queue);
        }

        static Mesh start(Path modelPath, int port, int maxBatch, int queue) throws Exception {
            System.setProperty("ai.djl.offline", "true");
            NDManager manager = NDManager.newBaseManager();
            LoadedModel model = ModelLoader.load(modelPath, manager, 1024);
            GenerationEngine engine = new GenerationEngine(model, maxBatch, queue);
            Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                    .addService(new ModelServiceImpl(engine, 1024)).build().start();
            return new Mesh(manager, model, engine, server, new MeshClients("127.0.0.1:" + server.getPort()));
        }

        @Override
        public void close() throws Exception {
            clients.close();
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            engine.close();
            model.close();
            manager.close();
        }
    }

    @Test
    void embeddingJudgePrefersTextAboutTheCriterion() {
        EmbeddingJudge judge = new EmbeddingJudge();
        double[] s = judge.score(List.of("The bride and groom danced at their wedding reception.", "The stock market fell sharply today."),
                "The text is about weddings.");
        assertTrue(s[0] > s[1] + 0.2, java.util.Arrays.toString(s));
        assertTrue(s[0] <= 1 && s[1] >= 0);
    }

    @Test
    void axbenchHarmonicMeanIsZeroWhenAnyRatingIsAndTheMeanOfEqualOnes() {
        assertEquals(2.0, new ChatJudge.AxBench(2, 2, 2).harmonicMean(), 1e-12);
        assertEquals(0.0, new ChatJudge.AxBench(2, 0, 2).harmonicMean(), 1e-12);
        assertEquals(3 / (1 + 0.5 + 0.5), new ChatJudge.AxBench(1, 2, 2).harmonicMean(), 1e-12);
        assertTrue(Double.isNaN(new ChatJudge.AxBench(Double.NaN, 2, 2).harmonicMean()));
    }

    @Test
    void chatJudgeParsesScores() {
        assertEquals(0.0, ChatJudge.parse("1"), 1e-9);
        assertEquals(1.0, ChatJudge.parse("Score: 10/10"), 1e-9);
        assertEquals(6 / 9.0, ChatJudge.parse("I'd say 7."), 1e-9);
        assertTrue(Double.isNaN(ChatJudge.parse("no idea")));
    }

    @Test
    void evaluateSweepsScalesAndReportsTheBestProduct() throws Exception {
        Path stories = Path.of(System.getProperty("steering.shared.dir", "../shared"), "models/stories260K-hf");
        try (Mesh mesh = Mesh.start(stories); OperationRegistry ops = new OperationRegistry(1, 4, Duration.ofMinutes(5), 10)) {
            EmbeddingJudge judge = new EmbeddingJudge();
            Server gw = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new SteeringServiceImpl(mesh.clients(), ops, kind -> judge)).build().start();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", gw.getPort()).usePlaintext().build();
            try {
                // a direction towards "dog" text in the residual stream of block 2
                float[] v = dogDirection(mesh.clients());
                SteeringSpec spec = SteeringSpec.newBuilder().setIntervention(Intervention.newBuilder()
                        .setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                        .setVector(TensorCodec.ofFloats(v, v.length)).setPositions(PositionPolicy.ALL)).build();
                var stub = SteeringGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.MINUTES);
                Operation op = stub.startEvaluate(EvaluateRequest.newBuilder()
                        .setPrompt(Prompt.newBuilder().setText("Once upon a time"))
                        .setCriterion("A story about a dog.")
                        .setSamples(3)
                        .setSampling(SamplingParams.newBuilder().setMaxTokens(24).setTemperature(0.8f).setSeed(1).setIgnoreEos(true))
                        .addConfigs(EvaluatedConfig.newBuilder().setLabel("dog").addSteering(spec).addScales(0).addScales(0.5).addScales(1).addScales(8))
                        .build());
                Iterator<Operation> watch = stub.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
                Operation last = op;
                while (watch.hasNext()) last = watch.next();
                assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, last.getState(), last.getError().getMessage());
                EvaluateResult result = last.getResult().unpack(EvaluateResult.class);
                assertEquals(4, result.getPointsCount());
                EvaluatedPoint zero = result.getPoints(0);
                EvaluatedPoint huge = result.getPoints(3);
                assertEquals(3, zero.getSamplesCount());
                // the per-sample scores are kept, and their means are the point's figures
                assertEquals(3, zero.getSampleBehaviourCount());
                assertEquals(3, zero.getSampleCoherenceCount());
                assertEquals(zero.getBehaviour(), zero.getSampleBehaviourList().stream().mapToDouble(Double::doubleValue).average().orElseThrow(), 1e-12);
                assertEquals(zero.getCoherence(), zero.getSampleCoherenceList().stream().mapToDouble(Double::doubleValue).average().orElseThrow(), 1e-12);
                assertTrue(zero.getCoherence() > huge.getCoherence(), "a huge scale wrecks coherence: " + zero.getCoherence() + " vs " + huge.getCoherence());
                double bestProduct = result.getPointsList().stream().mapToDouble(EvaluatedPoint::getProduct).max().orElseThrow();
                assertEquals(bestProduct, result.getBest(0).getProduct(), 1e-12);
                assertTrue(result.getPointsList().stream().allMatch(p -> p.getBehaviour() >= 0 && p.getBehaviour() <= 1
                        && p.getCoherence() >= 0 && p.getCoherence() <= 1));
            } finally {
                ch.shutdownNow();
                gw.shutdownNow();
            }
        }
    }

    @Test
    void aPromptingBaselineGeneratesAfterItsOwnPromptAndIsScoredAfterTheRequests() throws Exception {
        Path stories = Path.of(System.getProperty("steering.shared.dir", "../shared"), "models/stories260K-hf");
        try (Mesh mesh = Mesh.start(stories); OperationRegistry ops = new OperationRegistry(1, 4, Duration.ofMinutes(5), 10)) {
            EmbeddingJudge judge = new EmbeddingJudge();
            Server gw = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new SteeringServiceImpl(mesh.clients(), ops, kind -> judge)).build().start();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", gw.getPort()).usePlaintext().build();
            try {
                var stub = SteeringGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.MINUTES);
                Prompt prompt = Prompt.newBuilder().setText("Once upon a time").build();
                String instruction = "The dog barked at the ball. The dog ran to the park. The dog was happy.";
                EvaluateRequest.Builder request = EvaluateRequest.newBuilder().setPrompt(prompt).setCriterion("A story about a dog.")
                        .setSamples(3).setSampling(SamplingParams.newBuilder().setMaxTokens(16).setTemperature(0.8f).setSeed(1).setIgnoreEos(true))
                        .addConfigs(EvaluatedConfig.newBuilder().setLabel("unsteered").addSteering(SteeringSpec.newBuilder()
                                .setIntervention(Intervention.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                                        .setVector(TensorCodec.ofFloats(new float[64], 64)))).addScales(0))
                        .addConfigs(EvaluatedConfig.newBuilder().setLabel("prompted")
                                .setPrompting(PromptingBaseline.newBuilder().setInstruction(instruction)));
                Operation op = stub.startEvaluate(request.build());
                Iterator<Operation> watch = stub.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
                Operation last = op;
                while (watch.hasNext()) last = watch.next();
                assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, last.getState(), last.getError().getMessage());
                EvaluateResult result = last.getResult().unpack(EvaluateResult.class);
                assertEquals(2, result.getPointsCount());
                EvaluatedPoint plain = result.getPoints(0), prompted = result.getPoints(1);
                assertEquals("prompted", prompted.getLabel());
                assertEquals(0, prompted.getScale());
                assertNotEquals(plain.getSamplesList(), prompted.getSamplesList(), "the same seeds after another prompt");
                // generated after the instruction + prompt (greedy from the same seed reproduces the first sample)
                GenerateRequest.Builder again = GenerateRequest.newBuilder()
                        .setPrompt(Prompt.newBuilder().setText(instruction + "\n\nOnce upon a time"))
                        .setSampling(request.getSampling().toBuilder().setSeed(1));
                StringBuilder text = new StringBuilder();
                mesh.clients().modelBlocking().generate(again.build()).forEachRemaining(g -> text.append(g.getTextDelta()));
                assertEquals(text.toString(), prompted.getSamples(0));
                // scored after the request's own prompt, as a steered sample is
                ScoreResponse s = mesh.clients().modelBlocking().score(ScoreRequest.newBuilder().setPrompt(prompt)
                        .setContinuationText(prompted.getSamples(0)).build());
                assertEquals(Math.exp(s.getTotalLogprob() / s.getLogprobsCount()), prompted.getSampleCoherence(0), 1e-9);
                // a prompting baseline takes no steering and no scale but 0
                io.grpc.StatusRuntimeException e = assertThrows(io.grpc.StatusRuntimeException.class, () -> stub.startEvaluate(
                        request.setConfigs(1, request.getConfigs(1).toBuilder().addScales(2)).build()));
                assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
                assertTrue(e.getStatus().getDescription().startsWith("configs[1].scales[0]"), e.getStatus().getDescription());
                e = assertThrows(io.grpc.StatusRuntimeException.class, () -> stub.startEvaluate(request.setConfigs(1,
                        EvaluatedConfig.newBuilder().setPrompting(PromptingBaseline.getDefaultInstance())).build()));
                assertTrue(e.getStatus().getDescription().startsWith("configs[1].prompting"), e.getStatus().getDescription());
            } finally {
                ch.shutdownNow();
                gw.shutdownNow();
            }
        }
    }

    private static float[] dogDirection(MeshClients mesh) {
        float[] dog = mean(mesh, "The dog barked. The dog ran after the ball. The dog was happy.");
        float[] girl = mean(mesh, "The girl sang. The girl smiled at her mom. The girl was happy.");
        float[] v = new float[dog.length];
        for (int i = 0; i < v.length; i++) v[i] = dog[i] - girl[i];
        return v;
    }

    private static float[] mean(MeshClients mesh, String text) {
        return TensorCodec.toFloats(mesh.modelBlocking().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(Prompt.newBuilder().setText(text)).addHooks(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                .setReduction(Reduction.MEAN).setSelection(PositionSelection.newBuilder().setExcludeBos(true)).build()).next().getActivations());
    }

    @Test
    void chatJudgeScoresThroughARealOpenAiCompatibleServer() throws Exception {
        Path smol = Path.of(System.getenv().getOrDefault("STEERING_CACHE", System.getProperty("user.home") + "/.cache/steering-mesh"),
                "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(smol), "SmolLM2 not cached: run scripts/fetch-model.sh");
        try (Mesh mesh = Mesh.start(smol)) {
            // the gateway's own OpenAI-compatible logic behind a plain HTTP server: a real server with a real model
            OpenAiCompat compat = new OpenAiCompat(new steering.gateway.grpc.SteeringResolver(mesh.clients()));
            ObjectMapper json = new ObjectMapper();
            HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            http.createContext("/v1/chat/completions", ex -> {
                JsonNode body = json.readTree(ex.getRequestBody());
                OpenAiCompat.Parsed p = compat.parse(body, OpenAiCompat.Kind.CHAT, "smollm2");
                byte[] out = compat.complete(p, mesh.clients().modelBlocking().generate(p.request())).toString().getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, out.length);
                ex.getResponseBody().write(out);
                ex.close();
            });
            http.start();
            try {
                ChatJudge judge = new ChatJudge("http://127.0.0.1:" + http.getAddress().getPort() + "/v1", "smollm2", "");
                double[] s = judge.score(List.of("The bride and groom danced at their wedding."), "The text is about weddings.");
                assertEquals(1, s.length);
                assertTrue(s[0] >= 0 && s[0] <= 1, "a 1..10 answer mapped to [0, 1]: " + s[0]);
                // AxBench's three ratings through the same server: each 0, 1 or 2 (a 135M judge may answer anything
                // else, then NaN), and a harmonic mean consistent with them
                ChatJudge.AxBench a = judge.axbench("The bride and groom danced at their wedding.", "weddings", "Tell me about your weekend.");
                for (double x : new double[]{a.concept(), a.instruction(), a.fluency()}) {
                    assertTrue(Double.isNaN(x) || x == 0 || x == 1 || x == 2, "a rating: " + x);
                }
                assertTrue(Double.isNaN(a.harmonicMean()) || (a.harmonicMean() >= 0 && a.harmonicMean() <= 2), a.toString());
            } finally {
                http.stop(0);
            }
        }
    }
}
