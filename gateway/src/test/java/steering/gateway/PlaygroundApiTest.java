package steering.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import steering.common.ops.OperationRegistry;
import steering.gateway.eval.EmbeddingJudge;
import steering.gateway.eval.Evaluator;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.mesh.MeshClients;
import steering.gateway.openai.OpenAiCompat;
import steering.gateway.playground.Evaluations;
import steering.gateway.playground.MeshViews;
import steering.gateway.playground.PlaygroundJson;
import steering.gateway.playground.SideBySide;
import steering.v1.*;
import steering.vector.grpc.VectorServiceImpl;
import steering.common.client.ModelClient;
import steering.common.grpc.ChannelFactory;
import steering.common.client.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The playground's endpoints (steering.gateway.playground) against a real model-service (stories260K) and
 * vector-service on loopback: both columns streamed with one seed, registry views, evaluations, and bad input
 * refused with the page's field names. HTTP, the API key and the page itself run in a browser in scripts/e2e.sh.
 */
class PlaygroundApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String HOOK = "blocks.2.hook_resid_pre";
    @TempDir
    static Path dir;
    static EvaluateAndJudgesTest.Mesh modelService;
    static OperationRegistry ops;
    static Server vectorServer;
    static MeshClients mesh;
    static SideBySide sideBySide;
    static MeshViews views;
    static Evaluations evaluations;

    @BeforeAll
    static void start() throws Exception {
        Path shared = Path.of(System.getProperty("steering.shared.dir", "../shared"));
        modelService = EvaluateAndJudgesTest.Mesh.start(shared.resolve("models/stories260K-hf"));
        ops = new OperationRegistry(1, 4, Duration.ofMinutes(5), 10);
        String modelAddress = "127.0.0.1:" + modelService.server().getPort();
        vectorServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new VectorServiceImpl(new VectorRegistry(dir.resolve("vectors")), new ApproximatorRegistry(dir.resolve("approx")),
                        new ModelClient(modelAddress, ChannelFactory.plaintext(), 60), new SaeClient("127.0.0.1:1", ChannelFactory.plaintext(), 60), new Datasets(shared.resolve("data")), ops))
                .build().start();
        mesh = new MeshClients(modelAddress, "127.0.0.1:" + vectorServer.getPort(), null);
        SteeringResolver resolver = new SteeringResolver(mesh);
        sideBySide = new SideBySide(mesh, resolver, 120);
        views = new MeshViews(mesh, 120);
        EmbeddingJudge judge = new EmbeddingJudge();
        evaluations = new Evaluations(mesh, resolver, new Evaluator(mesh, resolver, kind -> judge), ops, 120);
        mesh.vectorBlocking().buildVector(BuildVectorRequest.newBuilder().setVectorId("dog").setDescription("dogs, not girls")
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName(HOOK))
                        .addPositive("The dog barked. The dog ran after the ball.")
                        .addNegative("The girl sang. The girl smiled at her mom.")).build());
    }

    @AfterAll
    static void stop() throws Exception {
        mesh.close();
        vectorServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        ops.close();
        modelService.close();
    }

    record Sent(String event, JsonNode data) {}

    static List<Sent> stream(String body) throws Exception {
        List<Sent> events = new ArrayList<>();
        sideBySide.start(JSON.readTree(body)).stream((event, data) -> events.add(new Sent(event, data)));
        return events;
    }

    static String column(List<Sent> events, String column) {
        StringBuilder sb = new StringBuilder();
        for (Sent e : events) if (e.event().equals("token") && e.data().path("column").asText().equals(column)) sb.append(e.data().get("text").asText());
        return sb.toString();
    }

    static String generate(GenerateRequest request) {
        StringBuilder sb = new StringBuilder();
        mesh.modelBlocking().generate(request).forEachRemaining(r -> sb.append(r.getTextDelta()));
        return sb.toString();
    }

    @Test
    void bothColumnsStreamWithOneSeedAndOnlyTheSteeredOneCarriesTheVector() throws Exception {
        List<Sent> events = stream("{\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0,\"seed\":5,"
                + "\"steering\":[{\"vector_id\":\"dog\",\"scale\":6}]}");
        assertEquals("start", events.get(0).event());
        assertEquals(5, events.get(0).data().get("seed").asLong());
        assertEquals(HOOK, events.get(0).data().at("/steering/0/hook/name").asText());
        assertEquals(6.0, events.get(0).data().at("/steering/0/scale").asDouble());
        assertFalse(events.get(0).data().at("/steering/0").has("vector"), "the tensor's bytes stay out of the stream");
        assertEquals("end", events.get(events.size() - 1).event());
        assertTrue(events.stream().noneMatch(e -> e.event().equals("error")), events::toString);

        SamplingParams greedy = SamplingParams.newBuilder().setMaxTokens(16).setSeed(5).build();
        Prompt prompt = Prompt.newBuilder().setText("Once upon a time").build();
        Intervention dog = mesh.vectorBlocking().getVector(GetVectorRequest.newBuilder().setId("dog").build()).getIntervention();
        String unsteered = column(events, "unsteered");
        String steered = column(events, "steered");
        assertEquals(generate(GenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy).build()), unsteered);
        assertEquals(generate(GenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy)
                .addInterventions(dog.toBuilder().setScale(6)).build()), steered);
        assertNotEquals(unsteered, steered);
        long finished = events.stream().filter(e -> e.data().has("finish_reason")).count();
        assertEquals(2, finished, "each column ends with its finish reason");
    }

    @Test
    void aContrastFromSentencesSteersAndAnAbsentSeedIsChosenAndReported() throws Exception {
        List<Sent> events = stream("{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"steering\":[{\"recipe\":{\"save\":false,"
                + "\"caa_mean\":{\"hook\":{\"name\":\"" + HOOK + "\"},\"positive\":[\"The cat purred.\"],\"negative\":[\"The boy ran.\"]}},\"scale\":8}]}");
        assertTrue(events.get(0).data().get("seed").isIntegralNumber());
        assertFalse(column(events, "unsteered").isEmpty());
        assertNotEquals(column(events, "unsteered"), column(events, "steered"));
        assertTrue(views.vectors().get("vectors").findValuesAsText("id").stream().noneMatch(id -> id.startsWith("caa")),
                "a contrast built for a request is not stored");
    }

    static void refused(Status.Code code, String field, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        ObjectNode body = PlaygroundJson.error(e);
        if (field == null) assertFalse(body.path("error").has("field"), body.toString());
        else assertEquals(field, body.at("/error/field").asText(), body.toString());
        int http = OpenAiCompat.httpStatus(e);
        assertEquals(switch (code) { case INVALID_ARGUMENT -> 400; case NOT_FOUND -> 404; case UNAVAILABLE -> 503; default -> 500; }, http);
    }

    static Executable generating(String body) {
        return () -> sideBySide.start(JSON.readTree(body)).cancel();
    }

    @Test
    void badGenerationsAreRefusedNamingThePagesField() {
        String dog = ",\"steering\":[{\"vector_id\":\"dog\"}]";
        refused(Status.Code.INVALID_ARGUMENT, "body", generating("[1]"));
        refused(Status.Code.INVALID_ARGUMENT, "prompt", generating("{\"prompt\":\"  \"" + dog + "}"));
        refused(Status.Code.INVALID_ARGUMENT, "max_tokens", generating("{\"prompt\":\"Hi\",\"max_tokens\":0" + dog + "}"));
        refused(Status.Code.INVALID_ARGUMENT, "temperature", generating("{\"prompt\":\"Hi\",\"temperature\":2.5" + dog + "}"));
        refused(Status.Code.INVALID_ARGUMENT, "seed", generating("{\"prompt\":\"Hi\",\"seed\":-1" + dog + "}"));
        refused(Status.Code.INVALID_ARGUMENT, "chat", generating("{\"prompt\":\"Hi\",\"chat\":\"yes\"" + dog + "}"));
        refused(Status.Code.INVALID_ARGUMENT, "steering", generating("{\"prompt\":\"Hi\",\"steering\":[]}"));
        refused(Status.Code.INVALID_ARGUMENT, "steering", generating("{\"prompt\":\"Hi\",\"steering\":{\"vector_id\":\"dog\"}}"));
        refused(Status.Code.INVALID_ARGUMENT, "steering[0]", generating("{\"prompt\":\"Hi\",\"steering\":[{\"no_such_field\":1}]}"));
        refused(Status.Code.INVALID_ARGUMENT, "steering[0].scale", generating("{\"prompt\":\"Hi\",\"steering\":[{\"vector_id\":\"dog\",\"scale\":\"NaN\"}]}"));
        refused(Status.Code.INVALID_ARGUMENT, "steering[0].recipe.caa_mean.hook.name", generating("{\"prompt\":\"Hi\",\"steering\":[{\"recipe\":{\"save\":false,"
                + "\"caa_mean\":{\"hook\":{\"name\":\"blocks.9.hook_resid_pre\"},\"positive\":[\"a\"],\"negative\":[\"b\"]}}}]}"));
        refused(Status.Code.NOT_FOUND, null, generating("{\"prompt\":\"Hi\",\"steering\":[{\"vector_id\":\"no-such-vector\"}]}"));
        // model-service's own limit on the prompt (1024 tokens here), restated as the page's field
        refused(Status.Code.INVALID_ARGUMENT, "prompt", generating("{\"prompt\":\"" + "dog ".repeat(1500) + "\"" + dog + "}"));
        // prompt + new tokens over the request limit: model-service caps max_tokens (as the contract says) and the
        // generation starts
        assertDoesNotThrow(generating("{\"prompt\":\"" + "dog ".repeat(200) + "\",\"max_tokens\":1000" + dog + "}"));
    }

    @Test
    void theVectorViewShowsMethodProvenanceNormAndScaleWithoutTheTensor() {
        JsonNode v = views.vector("dog");
        assertEquals("VECTOR_METHOD_CAA_MEAN", v.get("method").asText());
        assertEquals(1.0, v.get("norm").asDouble(), 1e-4);
        assertEquals(HOOK, v.at("/hook/name").asText());
        assertEquals("The dog barked. The dog ran after the ball.", v.at("/recipe/caa_mean/positive/0").asText());
        assertTrue(v.get("sources").size() > 0, v.toString());
        assertTrue(v.get("calibrated_scale").isNull(), "not calibrated");
        assertEquals("[64]", v.get("shape").asText());
        assertFalse(v.has("vector") || v.has("intervention"), "no tensor bytes");
        assertEquals("dogs, not girls", views.vectors().at("/vectors/0/description").asText());
        refused(Status.Code.NOT_FOUND, null, () -> views.vector("no-such-vector"));
    }

    @Test
    void featureViewsNeedAnSaeServiceAndSayWhichSetting() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> views.saes());
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("steering.sae-service.address"));
        refused(Status.Code.INVALID_ARGUMENT, "sae_id", () -> views.searchFeatures(JSON.readTree("{\"text\":\"dog\"}")));
        refused(Status.Code.INVALID_ARGUMENT, "top_k", () -> views.searchFeatures(JSON.readTree("{\"sae_id\":\"s\",\"text\":\"dog\",\"top_k\":1000}")));
        refused(Status.Code.INVALID_ARGUMENT, "top_contexts", () -> views.feature("s", 1, 101));
        assertFalse(views.info().get("sae_service").asBoolean());
        assertTrue(views.info().get("vector_service").asBoolean());
        assertEquals("stories260K-hf", views.info().get("model_id").asText());
    }

    @Test
    void anEvaluationRunsAsAnOperationAndReturnsItsPoints() throws Exception {
        ObjectNode started = evaluations.start(JSON.readTree("{\"prompt\":\"Once upon a time\",\"criterion\":\"The story is about a dog.\","
                + "\"steering\":[{\"vector_id\":\"dog\"}],\"scales\":[0,4],\"samples\":1,\"max_tokens\":8}"));
        String id = started.get("id").asText();
        ops.await(id, Duration.ofMinutes(3));
        JsonNode done = evaluations.get(id);
        assertEquals("OPERATION_STATE_SUCCEEDED", done.get("state").asText(), done.toString());
        JsonNode points = done.at("/result/points");
        assertEquals(2, points.size());
        assertEquals(4.0, points.get(1).get("scale").asDouble());
        for (JsonNode p : points) {
            assertEquals(p.path("behaviour").asDouble() * p.path("coherence").asDouble(), p.path("product").asDouble(), 1e-9);
            assertEquals(1, p.get("samples").size());
        }
        assertEquals("The story is about a dog.", done.at("/result/criterion").asText());

        String ok = ",\"steering\":[{\"vector_id\":\"dog\"}],\"criterion\":\"dogs\",\"scales\":[0]";
        refused(Status.Code.INVALID_ARGUMENT, "scales", () -> evaluations.start(JSON.readTree("{\"prompt\":\"Hi\",\"steering\":[{\"vector_id\":\"dog\"}],\"criterion\":\"dogs\",\"scales\":[]}")));
        refused(Status.Code.INVALID_ARGUMENT, "scales[1]", () -> evaluations.start(JSON.readTree("{\"prompt\":\"Hi\",\"steering\":[{\"vector_id\":\"dog\"}],\"criterion\":\"dogs\",\"scales\":[0,\"x\"]}")));
        refused(Status.Code.INVALID_ARGUMENT, "criterion", () -> evaluations.start(JSON.readTree("{\"prompt\":\"Hi\",\"steering\":[{\"vector_id\":\"dog\"}],\"scales\":[0]}")));
        refused(Status.Code.INVALID_ARGUMENT, "samples", () -> evaluations.start(JSON.readTree("{\"prompt\":\"Hi\",\"samples\":65" + ok + "}")));
        refused(Status.Code.INVALID_ARGUMENT, "judge", () -> evaluations.start(JSON.readTree("{\"prompt\":\"Hi\",\"judge\":\"gpt\"" + ok + "}")));
        refused(Status.Code.NOT_FOUND, null, () -> evaluations.start(JSON.readTree("{\"prompt\":\"Hi\",\"steering\":[{\"vector_id\":\"nope\"}],\"criterion\":\"dogs\",\"scales\":[0]}")));
        refused(Status.Code.NOT_FOUND, null, () -> evaluations.get("no-such-operation"));
    }
}
