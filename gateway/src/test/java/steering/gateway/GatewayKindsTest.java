package steering.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import steering.common.ops.OperationRegistry;
import steering.common.tensor.TensorCodec;
import steering.gateway.eval.EmbeddingJudge;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.gateway.mesh.MeshClients;
import steering.gateway.openai.OpenAiCompat;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.sae.grpc.SaeServiceImpl;
import steering.sae.store.SaeStore;
import steering.v1.*;
import steering.vector.grpc.VectorServiceImpl;
import steering.common.client.ModelClient;
import steering.common.grpc.ChannelFactory;
import steering.common.client.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every intervention kind through the gateway (issue 13 item 5), all services real on loopback with stories260K:
 * an SAE feature named by SAE id and index in Generate, Compare and the OpenAI steering field; value sweeps in
 * Evaluate; the refusals, each naming the gateway's own field.
 */
class GatewayKindsTest {
    static final String HOOK = "blocks.2.hook_resid_post";
    static final String SAE = "gw-sae";
    static final List<AutoCloseable> open = new ArrayList<>();
    static final List<Server> servers = new ArrayList<>();
    static MeshClients mesh;
    static ManagedChannel channel;
    static SteeringGrpc.SteeringBlockingStub gateway;
    static SaeServiceGrpc.SaeServiceBlockingStub saes;
    static int feature;

    @BeforeAll
    static void start() throws Exception {
        StoriesModel stories = StoriesModel.load();
        Path shared = StoriesModel.shared();
        Path dir = Files.createTempDirectory("gateway-kinds");
        String modelAddress = "127.0.0.1:" + serve(stories.service()).getPort();
        ModelClient saeModel = new ModelClient(modelAddress, ChannelFactory.plaintext(), 120);
        SaeStore store = new SaeStore(dir.resolve("saes"), 2);
        OperationRegistry saeOps = new OperationRegistry(1, 4, Duration.ofMinutes(10), 10);
        String saeAddress = "127.0.0.1:" + serve(new SaeServiceImpl(store, saeModel,
                new CorpusReader(shared.resolve("data"), ReadableRoots.anywhere()), saeOps, ReadableRoots.anywhere(), 8192)).getPort();
        ModelClient vModel = new ModelClient(modelAddress, ChannelFactory.plaintext(), 120);
        SaeClient vSae = new SaeClient(saeAddress, ChannelFactory.plaintext(), 120);
        OperationRegistry vecOps = new OperationRegistry(1, 4, Duration.ofMinutes(10), 10);
        String vectorAddress = "127.0.0.1:" + serve(new VectorServiceImpl(new VectorRegistry(dir.resolve("vectors")),
                new ApproximatorRegistry(dir.resolve("approx")), vModel, vSae, new Datasets(shared.resolve("data")), vecOps)).getPort();
        mesh = new MeshClients(modelAddress, vectorAddress);
        OperationRegistry gwOps = new OperationRegistry(1, 4, Duration.ofMinutes(10), 10);
        EmbeddingJudge judge = new EmbeddingJudge();
        Server gw = serve(new SteeringServiceImpl(mesh, gwOps, kind -> judge));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", gw.getPort()).usePlaintext().build();
        gateway = SteeringGrpc.newBlockingStub(channel);
        ManagedChannel saeChannel = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(saeAddress.split(":")[1])).usePlaintext().build();
        saes = SaeServiceGrpc.newBlockingStub(saeChannel);
        open.addAll(List.of(saeChannel::shutdownNow, channel::shutdownNow, gwOps, mesh, vecOps, vSae, vModel, saeOps, store, saeModel,
                stories));

        // a small TopK SAE on the model's own activations, and its feature most active on a dog text
        Operation op = saes.startTrainSae(TrainSaeRequest.newBuilder().setSaeId(SAE).setHook(HookPoint.newBuilder().setName(HOOK))
                .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(40))
                .setDSae(128).setK(8).setBatchSize(256).setEpochs(4).setSplicedLossWindows(0).setTopContexts(1).setSeed(3).build());
        Iterator<Operation> watch = saes.withDeadlineAfter(300, TimeUnit.SECONDS).watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        Operation last = op;
        while (watch.hasNext()) last = watch.next();
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, last.getState(), last.getError().getMessage());
        SearchFeaturesResponse hits = saes.searchFeatures(SearchFeaturesRequest.newBuilder().setSaeId(SAE)
                .setPrompt(Prompt.newBuilder().setText("The dog barked at the ball.")).setTopK(1).build());
        feature = hits.getHits(0).getFeature();
    }

    static Server serve(io.grpc.BindableService service) throws Exception {
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).maxInboundMessageSize(64 << 20)
                .addService(service).build().start();
        servers.add(s);
        return s;
    }

    @AfterAll
    static void stop() {
        for (Server s : servers) s.shutdownNow();
        for (AutoCloseable c : open) {
            try {
                c.close();
            } catch (Exception ignored) {
                // shutting down
            }
        }
    }

    static Intervention.Builder named(int f, double value) {
        return Intervention.newBuilder().setKind(InterventionKind.SAE_FEATURE).setValue(value)
                .setSaeFeature(SaeFeature.newBuilder().setSaeId(SAE).setFeature(f));
    }

    static final Prompt PROMPT = Prompt.newBuilder().setText("Once upon a time").build();
    static final SamplingParams GREEDY = SamplingParams.newBuilder().setMaxTokens(16).setIgnoreEos(true).build();

    static List<Integer> generate(SteeringSpec... specs) {
        List<Integer> ids = new ArrayList<>();
        gateway.withDeadlineAfter(2, TimeUnit.MINUTES).generate(SteeredGenerateRequest.newBuilder().setPrompt(PROMPT)
                .setSampling(GREEDY).addAllSteering(List.of(specs)).build()).forEachRemaining(r -> ids.addAll(r.getTokenIdsList()));
        return ids;
    }

    static List<Integer> direct(Intervention iv) {
        List<Integer> ids = new ArrayList<>();
        mesh.modelBlocking().withDeadlineAfter(2, TimeUnit.MINUTES).generate(GenerateRequest.newBuilder().setPrompt(PROMPT)
                .setSampling(GREEDY).addInterventions(iv).build()).forEachRemaining(r -> ids.addAll(r.getTokenIdsList()));
        return ids;
    }

    static SteeringSpec spec(Intervention.Builder iv) {
        return SteeringSpec.newBuilder().setIntervention(iv).build();
    }

    @Test
    void aNamedSaeFeatureSteersAsItsResolvedTensorsDo() {
        List<Integer> plain = generate();
        List<Integer> steered = generate(spec(named(feature, 12)));
        assertNotEquals(plain, steered, "clamping the feature to 12 changes the continuation");
        // the same feature resolved by vector-service, sent straight to model-service
        Intervention resolved = mesh.vectorBlocking().buildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setKind(InterventionKind.SAE_FEATURE).setValue(12).setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(SAE)
                        .addFeatures(WeightedFeature.newBuilder().setFeature(feature).setWeight(1))).build()).getVector().getIntervention();
        assertEquals(steered, direct(resolved));
        // the spec's scale is the feature's value: value 12 given as a scale is the same request
        assertEquals(steered, generate(SteeringSpec.newBuilder().setIntervention(named(feature, 1)).setScale(12).build()));
        // strength multiplies the value; Compare runs each kind side by side
        CompareResponse cmp = gateway.withDeadlineAfter(2, TimeUnit.MINUTES).compare(CompareRequest.newBuilder().setPrompt(PROMPT)
                .setSampling(GREEDY.toBuilder().setSeed(1))
                .addConfigs(SteeringConfig.newBuilder().setLabel("none"))
                .addConfigs(SteeringConfig.newBuilder().setLabel("feature").addSteering(SteeringSpec.newBuilder()
                        .setIntervention(named(feature, 6)).setStrength(2))).build());
        assertEquals(plain, cmp.getGenerations(0).getTokenIdsList());
        assertEquals(steered, cmp.getGenerations(1).getTokenIdsList());
    }

    @Test
    void theOpenAiSteeringFieldTakesEveryKind() throws Exception {
        OpenAiCompat compat = new OpenAiCompat(new SteeringResolver(mesh));
        ObjectMapper json = new ObjectMapper();
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0,\"steering\":[{\"intervention\":"
                + "{\"kind\":\"SAE_FEATURE\",\"value\":12,\"saeFeature\":{\"saeId\":\"" + SAE + "\",\"feature\":" + feature + "}}}]}";
        OpenAiCompat.Parsed p = compat.parse(json.readTree(body), OpenAiCompat.Kind.COMPLETION, "stories");
        Intervention iv = p.request().getInterventions(0);
        assertEquals(InterventionKind.SAE_FEATURE, iv.getKind());
        assertEquals(HOOK, iv.getHook().getName(), "the SAE's hook");
        assertTrue(iv.getSaeFeature().hasEncoder() && iv.getSaeFeature().hasDecoder(), "resolved into tensors");
        String clamp = "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"steering\":[{\"scale\":-2,\"intervention\":{\"kind\":\"CLAMP\","
                + "\"hook\":{\"name\":\"" + HOOK + "\"},\"vector\":" + JsonVector.of(iv.getSaeFeature().getDecoder()) + "}}]}";
        Intervention c = compat.parse(json.readTree(clamp), OpenAiCompat.Kind.COMPLETION, "stories").request().getInterventions(0);
        assertEquals(InterventionKind.CLAMP, c.getKind());
        assertEquals(-2, c.getValue(), 1e-12, "the spec's scale is CLAMP's value");
        assertFalse(c.hasScale());
    }

    /** A tensor in proto JSON. */
    static final class JsonVector {
        static String of(Tensor t) throws Exception {
            return com.google.protobuf.util.JsonFormat.printer().print(t);
        }
    }

    @Test
    void badFeaturesNameTheGatewaysField() {
        assertInvalid(() -> generate(spec(named(128, 1))), "steering[0].intervention.sae_feature.feature", "[0, 127]");
        assertInvalid(() -> generate(spec(named(feature, 1).setSaeFeature(SaeFeature.newBuilder().setSaeId("no-such-sae")))),
                "steering[0].intervention.sae_feature.sae_id", "no-such-sae");
        assertInvalid(() -> generate(spec(named(feature, 1).setHook(HookPoint.newBuilder().setName("blocks.1.hook_resid_post")))),
                "steering[0].intervention.hook.name", HOOK);
        assertInvalid(() -> generate(spec(named(feature, 1).clearValue())), "steering[0].intervention.value");
        assertInvalid(() -> generate(spec(named(feature, 1).setSaeFeature(SaeFeature.newBuilder().setFeature(3)))),
                "steering[0].intervention.sae_feature.sae_id");
        assertInvalid(() -> generate(SteeringSpec.newBuilder().setIntervention(named(feature, 1)).setScale(Double.NaN).build()),
                "steering[0].scale");
    }

    @Test
    void evaluateSweepsTheValueOfValueKindsAndRefusesAblationMagnitudes() throws Exception {
        SteeringSpec clamp = spec(named(feature, 0));
        Operation op = gateway.withDeadlineAfter(2, TimeUnit.MINUTES).startEvaluate(EvaluateRequest.newBuilder().setPrompt(PROMPT)
                .setCriterion("A story about a dog.").setSamples(1)
                .setSampling(SamplingParams.newBuilder().setMaxTokens(12).setSeed(1).setIgnoreEos(true))
                .addConfigs(EvaluatedConfig.newBuilder().setLabel("feature").addSteering(clamp).addScales(0).addScales(12)).build());
        Iterator<Operation> watch = gateway.withDeadlineAfter(5, TimeUnit.MINUTES).watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        Operation last = op;
        while (watch.hasNext()) last = watch.next();
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, last.getState(), last.getError().getMessage());
        EvaluateResult r = last.getResult().unpack(EvaluateResult.class);
        assertEquals(List.of(0.0, 12.0), r.getPointsList().stream().map(EvaluatedPoint::getScale).toList());
        assertNotEquals(r.getPoints(0).getSamples(0), r.getPoints(1).getSamples(0), "the feature at 0 and at 12 write different text");

        float[] d = TensorCodec.toFloats(saes.featureDirections(FeatureDirectionsRequest.newBuilder().setSaeId(SAE).addFeatures(feature).build()).getDirections());
        SteeringSpec ablate = spec(Intervention.newBuilder().setKind(InterventionKind.ABLATE).setHook(HookPoint.newBuilder().setName(HOOK))
                .setVector(TensorCodec.ofFloats(d, d.length)));
        assertInvalid(() -> gateway.startEvaluate(EvaluateRequest.newBuilder().setCriterion("dogs")
                .addConfigs(EvaluatedConfig.newBuilder().addSteering(ablate).addScales(0).addScales(1).addScales(2)).build()),
                "configs[0].scales[2]", "ABLATE");
        // ABLATE at 0 is the unsteered run, at 1 the ablation
        assertEquals(generate(), generate(SteeringSpec.newBuilder(ablate).setScale(0).build()));
    }

    @Test
    void anEvaluationsSamplingIsRefusedAtStartNotInTheOperation() {
        EvaluateRequest.Builder ok = EvaluateRequest.newBuilder().setCriterion("dogs")
                .addConfigs(EvaluatedConfig.newBuilder().addSteering(spec(Intervention.newBuilder()
                        .setHook(HookPoint.newBuilder().setName(HOOK)).setVector(TensorCodec.ofFloats(new float[64], 64)))).addScales(1)); // stories260K: d_model 64
        assertInvalid(() -> gateway.startEvaluate(ok.clone().setSampling(SamplingParams.newBuilder().setTemperature(-1)).build()),
                "sampling.temperature", "[0, 100]");
        assertInvalid(() -> gateway.startEvaluate(ok.clone().setSampling(SamplingParams.newBuilder().setTemperature(1).setTopP(2)).build()),
                "sampling.top_p", "[0, 1]");
        assertInvalid(() -> gateway.startEvaluate(ok.clone().setSampling(SamplingParams.newBuilder().setTopLogprobs(3)).build()),
                "sampling.top_logprobs", "logprobs");
    }

    @Test
    void anEvaluationResolvesARecipeOnceSoASavingRecipeStoresOneVector() throws Exception {
        // save is the default: every build of this recipe stores a vector under a new id
        BuildVectorRequest recipe = BuildVectorRequest.newBuilder().putLabels("evaluation", "resolved-once")
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                        .addPositive("The dog barked at the ball.").addNegative("The cat sat on the mat.")).build();
        Operation op = gateway.withDeadlineAfter(2, TimeUnit.MINUTES).startEvaluate(EvaluateRequest.newBuilder().setPrompt(PROMPT)
                .setCriterion("A story about a dog.").setSamples(1)
                .setSampling(SamplingParams.newBuilder().setMaxTokens(12).setSeed(1).setIgnoreEos(true))
                .addConfigs(EvaluatedConfig.newBuilder().setLabel("dog").addSteering(SteeringSpec.newBuilder().setRecipe(recipe))
                        .addScales(0).addScales(4).addScales(16)).build());
        Iterator<Operation> watch = gateway.withDeadlineAfter(5, TimeUnit.MINUTES).watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        Operation last = op;
        while (watch.hasNext()) last = watch.next();
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, last.getState(), last.getError().getMessage());
        List<SteeringVector> stored = mesh.vectorBlocking().listVectors(ListVectorsRequest.getDefaultInstance()).getVectorsList().stream()
                .filter(v -> "resolved-once".equals(v.getLabelsMap().get("evaluation"))).toList();
        assertEquals(1, stored.size(), "one build per evaluation, not one per scale: " + stored.stream().map(SteeringVector::getId).toList());
        EvaluateResult r = last.getResult().unpack(EvaluateResult.class);
        assertEquals(List.of(0.0, 4.0, 16.0), r.getPointsList().stream().map(EvaluatedPoint::getScale).toList());
        // the one vector, swept: scale 16 writes other text than the unsteered scale 0
        assertNotEquals(r.getPoints(0).getSamples(0), r.getPoints(2).getSamples(0));
    }

    static void assertInvalid(Executable call, String field, String... fragments) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        String d = e.getStatus().getDescription();
        assertTrue(d.startsWith(field), field + " first in: " + d);
        for (String f : fragments) assertTrue(d.contains(f), "'" + f + "' in: " + d);
    }
}
