package steering.gateway;

import ai.djl.ndarray.NDManager;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.grpc.RawCalls;
import steering.common.tensor.TensorCodec;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.gateway.mesh.MeshClients;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.v1.*;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.common.grpc.RawCalls.field;
import static steering.common.grpc.RawCalls.status;

/** The gateway in front of a real model-service (stories260K), both on loopback ports. */
class GatewayIntegrationTest {
    static NDManager manager;
    static LoadedModel model;
    static GenerationEngine engine;
    static Server modelServer;
    static MeshClients mesh;
    static Server gateway;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("ai.djl.offline", "true");
        manager = NDManager.newBaseManager();
        Path stories = Path.of(System.getProperty("steering.shared.dir", "../shared"), "models/stories260K-hf");
        model = ModelLoader.load(stories, manager, 512);
        engine = new GenerationEngine(model, 8, 64);
        // the message limits of the services' application.properties
        modelServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).maxInboundMessageSize(64 << 20)
                .addService(new ModelServiceImpl(engine, 512)).build().start();
        mesh = new MeshClients("127.0.0.1:" + modelServer.getPort());
        gateway = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).maxInboundMessageSize(16 << 20)
                .addService(new SteeringServiceImpl(mesh)).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", gateway.getPort()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow();
        gateway.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        mesh.close();
        modelServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        engine.close();
        model.close();
        manager.close();
    }

    static SteeringGrpc.SteeringBlockingStub stub() {
        return SteeringGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    static SteeringSpec inline(float[] v, double scale) {
        return SteeringSpec.newBuilder().setIntervention(Intervention.newBuilder()
                .setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                .setVector(TensorCodec.ofFloats(v, v.length)).setPositions(PositionPolicy.ALL)).setScale(scale).build();
    }

    static float[] direction() {
        float[] v = new float[64];
        for (int i = 0; i < 64; i++) v[i] = (float) Math.sin(i * 0.7);
        return v;
    }

    static String text(Iterator<GenerateResponse> it) {
        StringBuilder sb = new StringBuilder();
        it.forEachRemaining(r -> sb.append(r.getTextDelta()));
        return sb.toString();
    }

    @Test
    void modelInfoPassesThrough() {
        assertEquals(5, stub().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getNLayers());
    }

    @Test
    void steeredGenerationThroughTheGatewayEqualsTheSameRequestToModelService() {
        SamplingParams greedy = SamplingParams.newBuilder().setMaxTokens(30).setIgnoreEos(true).build();
        Prompt prompt = Prompt.newBuilder().setText("Once upon a time").build();
        String plain = text(stub().generate(SteeredGenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy).build()));
        String steered = text(stub().generate(SteeredGenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy)
                .addSteering(inline(direction(), 3.0)).build()));
        String direct = text(mesh.modelBlocking().generate(GenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy)
                .addInterventions(inline(direction(), 3.0).getIntervention().toBuilder().setScale(3.0)).build()));
        assertNotEquals(plain, steered, "the vector changes the text");
        assertEquals(direct, steered, "the gateway applies exactly the requested intervention");
    }

    @Test
    void compareGeneratesEveryConfigurationWithTheSameSeeds() {
        CompareResponse r = stub().compare(CompareRequest.newBuilder()
                .setPrompt(Prompt.newBuilder().setText("Once upon a time"))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(20).setTemperature(0.8f).setSeed(5).setIgnoreEos(true))
                .addConfigs(SteeringConfig.newBuilder().setLabel("unsteered"))
                .addConfigs(SteeringConfig.newBuilder().setLabel("steered").addSteering(inline(direction(), 3.0)))
                .setSamples(2).build());
        assertEquals(4, r.getGenerationsCount());
        assertEquals("unsteered", r.getGenerations(0).getLabel());
        assertEquals(5, r.getGenerations(0).getSeed());
        assertEquals(6, r.getGenerations(1).getSeed());
        assertEquals(r.getGenerations(0).getSeed(), r.getGenerations(2).getSeed());
        // the unsteered sample is what a plain generation with that seed gives
        String again = text(stub().generate(SteeredGenerateRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("Once upon a time"))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(20).setTemperature(0.8f).setSeed(5).setIgnoreEos(true)).build()));
        assertEquals(again, r.getGenerations(0).getText());
        assertNotEquals(r.getGenerations(0).getText(), r.getGenerations(2).getText());
    }

    @Test
    void badSteeringIsInvalidArgumentNamingTheField() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> text(stub().generate(SteeredGenerateRequest.newBuilder()
                .setPrompt(Prompt.newBuilder().setText("Once")).addSteering(inline(new float[10], 1.0)).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        // model-service's "interventions[0].vector" is restated about the caller's own field
        assertTrue(e.getStatus().getDescription().startsWith("steering[0].intervention.vector: "), e.getStatus().getDescription());
        StatusRuntimeException none = assertThrows(StatusRuntimeException.class, () -> stub().compare(CompareRequest.newBuilder()
                .setPrompt(Prompt.newBuilder().setText("Once")).build()));
        assertTrue(none.getStatus().getDescription().startsWith("configs"));
    }

    @Test
    void aDependencyThatIsDownIsUnavailableWellWithinTheDeadline() throws Exception {
        int deadPort;
        try (var socket = new java.net.ServerSocket(0)) {
            deadPort = socket.getLocalPort();
        }
        try (MeshClients dead = new MeshClients("127.0.0.1:" + deadPort)) {
            Server gw = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new SteeringServiceImpl(dead)).build().start();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", gw.getPort()).usePlaintext().build();
            try {
                long start = System.nanoTime();
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> text(SteeringGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(5, TimeUnit.SECONDS).generate(SteeredGenerateRequest.newBuilder()
                                .setPrompt(Prompt.newBuilder().setText("Once")).build())));
                assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
                assertTrue(e.getStatus().getDescription().startsWith("model-service at 127.0.0.1:" + deadPort + " is unavailable: "),
                        "the dependency is named, not only \"io exception\": " + e.getStatus().getDescription());
                assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
            } finally {
                ch.shutdownNow();
                gw.shutdownNow();
            }
        }
    }

    // ---- what a hostile client sends: INVALID_ARGUMENT naming the field, and model-service stays up behind it ----

    static void assertInvalid(String expected, Status s) {
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), s.toString());
        assertTrue(s.getDescription().startsWith(expected), s.getDescription());
    }

    static int drain(Iterator<GenerateResponse> it) {
        int tokens = 0;
        while (it.hasNext()) tokens += it.next().getTokenIdsCount();
        return tokens;
    }

    @Test
    void aFifteenMegabytePromptIsRefusedAndModelServiceGoesOn() {
        Prompt huge = Prompt.newBuilder().setText("x".repeat(15_000_000)).build();
        String refusal = "prompt.text: the text has more than 16384 bytes of UTF-8, the limit of a text field is 16384";
        assertInvalid(refusal, status(() -> drain(stub().generate(SteeredGenerateRequest.newBuilder().setPrompt(huge).build()))));
        assertInvalid(refusal, status(() -> stub().compare(CompareRequest.newBuilder().setPrompt(huge).setSamples(64)
                .addConfigs(SteeringConfig.getDefaultInstance()).addConfigs(SteeringConfig.getDefaultInstance()).build())));
        int tokens = drain(stub().generate(SteeredGenerateRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("Once upon a time"))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(6)).build()));
        assertEquals(6, tokens);
    }

    @Test
    void invalidUtf8AndRandomBytesAreRefusedByName() {
        // SteeredGenerateRequest.prompt(1).text(1); CompareRequest.configs(3)[0].label(1)
        assertInvalid("prompt.text: invalid UTF-8", RawCalls.call(channel, SteeringGrpc.getGenerateMethod(),
                field(1, field(1, new byte[]{'a', (byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}))));
        assertInvalid("configs[0].label: invalid UTF-8", RawCalls.call(channel, SteeringGrpc.getCompareMethod(),
                field(3, field(1, new byte[]{(byte) 0xE2, (byte) 0x82}))));
        byte[] garbage = new byte[64];
        new Random(3).nextBytes(garbage);
        garbage[0] = (byte) 0xFF;
        assertInvalid("the request is not a valid steering.v1.CompareRequest", RawCalls.call(channel, SteeringGrpc.getCompareMethod(), garbage));
        assertInvalid("sampling.stop[0]: invalid UTF-8", RawCalls.call(channel, SteeringGrpc.getGenerateMethod(),
                field(2, field(6, new byte[]{(byte) 0x80}))));
        assertEquals(64, stub().getModelInfo(GetModelInfoRequest.getDefaultInstance()).getDModel());
    }

    @Test
    void unknownEnumNumbersAreNamed() {
        Intervention bad = Intervention.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.0.hook_resid_pre"))
                .setPositionsValue(12).build();
        assertInvalid("steering[0].intervention.positions: 12 is not a known PositionPolicy; allowed: POSITION_POLICY_UNSPECIFIED (0)",
                status(() -> drain(stub().generate(SteeredGenerateRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("a"))
                        .addSteering(SteeringSpec.newBuilder().setIntervention(bad)).build()))));
    }
}
