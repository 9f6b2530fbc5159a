package steering.gateway;

import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.common.grpc.ChannelFactory;
import steering.common.ops.OperationRegistry;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.gateway.mesh.MeshClients;
import steering.v1.*;
import steering.vector.grpc.VectorServiceImpl;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A steered request with a CAA vector whose start is a marker resolved against the prompt (issue 15): the gateway
 * has model-service tokenize the prompt once and sends the ids on, to vector-service's GetVector and to every
 * Generate, and the tokens and steering positions stay those of the prompt sent as text. model-service's
 * Tokenize calls and the texts it is sent to tokenize (text prompts of Tokenize and Generate) are counted.
 */
class TokenizeOnceTest {
    static final String HOOK = "blocks.2.hook_resid_post";
    static final String VECTOR = "caa-awake";
    static final List<AutoCloseable> open = new ArrayList<>();
    static final TokenizeCounter counter = new TokenizeCounter();
    static ModelServiceGrpc.ModelServiceBlockingStub model;
    static VectorServiceGrpc.VectorServiceBlockingStub vectors;
    static SteeringGrpc.SteeringBlockingStub gateway;

    @BeforeAll
    static void start() throws Exception {
        StoriesModel stories = StoriesModel.load();
        open.add(stories);
        Path shared = StoriesModel.shared(), dir = Files.createTempDirectory("gateway-tokenize-once");
        String modelAddress = serve(ServerInterceptors.intercept(stories.service(), counter));
        ModelClient vModel = new ModelClient(modelAddress, ChannelFactory.plaintext(), 60);
        SaeClient noSae = new SaeClient("127.0.0.1:1", ChannelFactory.plaintext(), 60);
        OperationRegistry ops = new OperationRegistry(1, 4, Duration.ofMinutes(5), 10);
        open.addAll(0, List.of(ops, noSae, vModel));
        String vectorAddress = serve(new VectorServiceImpl(new VectorRegistry(dir.resolve("vectors")),
                new ApproximatorRegistry(dir.resolve("approx")), vModel, noSae, new Datasets(shared.resolve("data")), ops));
        MeshClients mesh = new MeshClients(modelAddress, vectorAddress);
        open.add(0, mesh);
        String gatewayAddress = serve(new SteeringServiceImpl(mesh).bindService());
        model = ModelServiceGrpc.newBlockingStub(channel(modelAddress)).withDeadlineAfter(5, TimeUnit.MINUTES);
        vectors = VectorServiceGrpc.newBlockingStub(channel(vectorAddress)).withDeadlineAfter(5, TimeUnit.MINUTES);
        gateway = SteeringGrpc.newBlockingStub(channel(gatewayAddress)).withDeadlineAfter(5, TimeUnit.MINUTES);

        // CAA from one A/B item: FROM_INDEX from the end of the marker "\nResponse:"
        SteeringVector caa = gateway.buildVector(BuildVectorRequest.newBuilder().setVectorId(VECTOR)
                .setCaa(CaaRecipe.newBuilder().setHook(HookPoint.newBuilder().setName(HOOK)).addItems(AbItem.newBuilder()
                        .setQuestion("Yes or no?\n\nChoices:\n (A) Yes\n (B) No").setAnswerMatchingBehavior("(A)").setAnswerNotMatchingBehavior("(B)")))
                .build()).getVector();
        assertEquals(PositionPolicy.FROM_INDEX, caa.getPositions());
        assertFalse(caa.getPositionMarker().isEmpty());
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : open) c.close();
    }

    static final SamplingParams GREEDY = SamplingParams.newBuilder().setMaxTokens(12).setIgnoreEos(true).build();
    /** ends with the marker: its own tokens place the steering */
    static final Prompt AT_END = Prompt.newBuilder().setText("Input: Are you awake?\nResponse:").build();
    /** the marker inside: the text up to the marker's end places it */
    static final Prompt INSIDE = Prompt.newBuilder().setText("Input: Are you awake?\nResponse: I think").build();

    @Test
    void aSteeredGenerateTokenizesItsPromptOnce() {
        counter.reset();
        List<Integer> tokens = steered(AT_END, 8);
        assertEquals(1, counter.tokenizeCalls(), "the gateway's Tokenize only");
        assertEquals(1, counter.texts(), "the prompt is tokenized once: GetVector and Generate get its ids");

        assertEquals(viaText(AT_END, 8), tokens, "the same tokens and steering positions as the prompt sent as text");
        assertEquals(viaText(INSIDE, 8), steered(INSIDE, 8), "a marker inside the prompt is placed as before");
        int from = resolved(AT_END).getFromIndex();
        assertEquals(model.tokenize(TokenizeRequest.newBuilder().setPrompt(AT_END).build()).getIdsCount() - 1, from,
                "steering starts at the marker's last token, the prompt's last");
    }

    @Test
    void aCompareTokenizesItsPromptOnceForEveryGeneration() {
        counter.reset();
        CompareResponse r = gateway.compare(CompareRequest.newBuilder().setPrompt(AT_END).setSampling(GREEDY).setSamples(3)
                .addConfigs(SteeringConfig.newBuilder().setLabel("plain"))
                .addConfigs(SteeringConfig.newBuilder().setLabel("caa").addSteering(SteeringSpec.newBuilder().setVectorId(VECTOR).setScale(8)))
                .build());
        assertEquals(6, r.getGenerationsCount());
        assertEquals(1, counter.tokenizeCalls(), "the prompt's check is its one Tokenize");
        assertEquals(1, counter.texts(), "vector-service and the six generations get the ids");
        List<Integer> caa = viaText(AT_END, 8), plain = viaText(AT_END, 0);
        assertNotEquals(plain, caa, "the vector steers");
        for (ComparedGeneration g : r.getGenerationsList()) {
            assertEquals(g.getLabel().equals("caa") ? caa : plain, g.getTokenIdsList(), g.getLabel() + " sample " + g.getSample());
        }
    }

    /** The gateway's steered greedy tokens. */
    private static List<Integer> steered(Prompt prompt, double scale) {
        List<Integer> ids = new ArrayList<>();
        gateway.generate(SteeredGenerateRequest.newBuilder().setPrompt(prompt).setSampling(GREEDY)
                .addSteering(SteeringSpec.newBuilder().setVectorId(VECTOR).setScale(scale)).build())
                .forEachRemaining(g -> ids.addAll(g.getTokenIdsList()));
        return ids;
    }

    /** What model-service generates from the prompt's text with the intervention vector-service resolves for it. */
    private static List<Integer> viaText(Prompt prompt, double scale) {
        GenerateRequest.Builder req = GenerateRequest.newBuilder().setPrompt(prompt).setSampling(GREEDY);
        if (scale != 0) req.addInterventions(resolved(prompt).toBuilder().setScale(scale));
        List<Integer> ids = new ArrayList<>();
        model.generate(req.build()).forEachRemaining(g -> ids.addAll(g.getTokenIdsList()));
        return ids;
    }

    /** The CAA intervention for a text prompt, its position found by vector-service tokenizing it. */
    private static Intervention resolved(Prompt prompt) {
        return vectors.getVector(GetVectorRequest.newBuilder().setId(VECTOR).setPrompt(prompt).build()).getIntervention();
    }

    private static String serve(io.grpc.ServerServiceDefinition service) throws Exception {
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build().start();
        open.add(0, s::shutdownNow);
        return "127.0.0.1:" + s.getPort();
    }

    private static String serve(io.grpc.BindableService service) throws Exception {
        return serve(service.bindService());
    }

    private static ManagedChannel channel(String address) {
        ManagedChannel ch = NettyChannelBuilder.forTarget(address).usePlaintext().build();
        open.add(0, ch::shutdownNow);
        return ch;
    }

    /** model-service's Tokenize calls, and the text prompts (each one tokenizing) that Tokenize and Generate get. */
    static final class TokenizeCounter implements ServerInterceptor {
        private final AtomicInteger tokenize = new AtomicInteger(), texts = new AtomicInteger();

        void reset() {
            tokenize.set(0);
            texts.set(0);
        }

        int tokenizeCalls() {
            return tokenize.get();
        }

        int texts() {
            return texts.get();
        }

        @Override
        public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            if (call.getMethodDescriptor().getBareMethodName().equals("Tokenize")) tokenize.incrementAndGet();
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
                @Override
                public void onMessage(Q m) {
                    Prompt p = m instanceof TokenizeRequest t ? t.getPrompt() : m instanceof GenerateRequest g ? g.getPrompt() : null;
                    if (p != null && p.getKindCase() == Prompt.KindCase.TEXT) texts.incrementAndGet();
                    super.onMessage(m);
                }
            };
        }
    }
}
