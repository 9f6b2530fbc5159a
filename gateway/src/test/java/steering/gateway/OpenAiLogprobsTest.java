package steering.gateway;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.mesh.MeshClients;
import steering.gateway.openai.OpenAiCompat;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.v1.GenerateResponse;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The OpenAI endpoints' logprobs / top_logprobs and steering kinds against a real model-service on SmolLM2. */
class OpenAiLogprobsTest {
    static NDManager manager;
    static LoadedModel model;
    static GenerationEngine engine;
    static Server server;
    static MeshClients clients;
    static OpenAiCompat compat;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("ai.djl.offline", "true");
        manager = NDManager.newBaseManager();
        // a model with a chat template (the chat endpoint renders one)
        Path smol = Path.of(System.getenv().getOrDefault("STEERING_CACHE", System.getProperty("user.home") + "/.cache/steering-mesh"),
                "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(smol), "SmolLM2 not cached: run scripts/fetch-model.sh");
        model = ModelLoader.load(smol, manager, 512);
        engine = new GenerationEngine(model, 4, 64);
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new ModelServiceImpl(engine, 512)).build().start();
        clients = new MeshClients("127.0.0.1:" + server.getPort());
        compat = new OpenAiCompat(new SteeringResolver(clients));
    }

    @AfterAll
    static void stop() throws Exception {
        if (clients == null) return;
        clients.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        engine.close();
        model.close();
        manager.close();
    }

    static JsonNode complete(String body, OpenAiCompat.Kind kind) throws Exception {
        OpenAiCompat.Parsed p = compat.parse(JSON.readTree(body), kind, "smollm2");
        return JSON.readTree(compat.complete(p, clients.modelBlocking().generate(p.request())).toString());
    }

    @Test
    void refusalsNameTheOpenAiRequestsFields() throws Exception {
        // model-service's ranges, checked before any call, under the OpenAI names
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> compat.parse(JSON.readTree("{\"prompt\":\"Hi\",\"temperature\":-1}"), OpenAiCompat.Kind.COMPLETION, "smollm2"));
        assertTrue(e.getStatus().getDescription().startsWith("temperature: -1.0 is outside [0, 100]"), e.getStatus().getDescription());
        assertEquals("temperature", OpenAiCompat.errorBody(e).at("/error/param").asText());
        e = assertThrows(StatusRuntimeException.class,
                () -> compat.parse(JSON.readTree("{\"prompt\":\"Hi\",\"top_p\":1.5}"), OpenAiCompat.Kind.COMPLETION, "smollm2"));
        assertTrue(e.getStatus().getDescription().startsWith("top_p: "), e.getStatus().getDescription());
        // model-service's refusal of the chat's prompt (longer than its 512-token limit) names the chat's messages
        OpenAiCompat.Parsed p = compat.parse(JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":\""
                + "word ".repeat(1000) + "\"}]}"), OpenAiCompat.Kind.CHAT, "smollm2");
        RuntimeException refused = assertThrows(StatusRuntimeException.class, () -> compat.complete(p, clients.modelBlocking().generate(p.request())));
        assertTrue(((StatusRuntimeException) refused).getStatus().getDescription().startsWith("prompt"), refused.getMessage());
        StatusRuntimeException ours = (StatusRuntimeException) OpenAiCompat.restated(refused, OpenAiCompat.Kind.CHAT);
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, ours.getStatus().getCode());
        assertTrue(ours.getStatus().getDescription().startsWith("messages: "), ours.getStatus().getDescription());
        assertEquals("messages", OpenAiCompat.errorBody(ours).at("/error/param").asText());
    }

    @Test
    void chatCompletionsCarryEachTokensLogprobAndItsAlternatives() throws Exception {
        JsonNode out = complete("{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                + "\"max_tokens\":8,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":3}", OpenAiCompat.Kind.CHAT);
        JsonNode content = out.at("/choices/0/logprobs/content");
        assertEquals(out.at("/usage/completion_tokens").asInt(), content.size());
        StringBuilder text = new StringBuilder();
        for (JsonNode t : content) {
            assertTrue(t.get("logprob").asDouble() <= 0);
            assertEquals(3, t.get("top_logprobs").size());
            assertEquals(t.get("token").asText(), t.at("/top_logprobs/0/token").asText(), "greedy: the best alternative");
            assertTrue(t.get("bytes").isArray());
            text.append(t.get("token").asText());
        }
        assertFalse(text.toString().isEmpty(), "the tokens have text");
        assertTrue(complete("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2}", OpenAiCompat.Kind.CHAT)
                .at("/choices/0/logprobs").isNull(), "no logprobs unless asked");
    }

    @Test
    void legacyCompletionsUseParallelArraysAndStreamedChunksCarryTheirTokens() throws Exception {
        JsonNode out = complete("{\"prompt\":\"Lily and Tom\",\"max_tokens\":6,\"temperature\":0,\"logprobs\":2}",
                OpenAiCompat.Kind.COMPLETION);
        JsonNode lp = out.at("/choices/0/logprobs");
        assertEquals(6, lp.get("tokens").size());
        assertEquals(6, lp.get("token_logprobs").size());
        assertEquals(2, lp.get("top_logprobs").get(0).size());

        OpenAiCompat.Parsed p = compat.parse(JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                + "\"max_tokens\":4,\"temperature\":0,\"ignore_eos\":true,\"logprobs\":true,\"stream\":true}"), OpenAiCompat.Kind.CHAT, "smollm2");
        Iterator<GenerateResponse> stream = clients.modelBlocking().generate(p.request());
        int tokens = 0;
        boolean first = true;
        while (stream.hasNext()) {
            GenerateResponse r = stream.next();
            JsonNode chunk = JSON.readTree(compat.chunk(p, r, first).toString());
            first = false;
            if (r.getTokenIdsCount() > 0) {
                assertEquals(r.getTokenIdsCount(), chunk.at("/choices/0/logprobs/content").size());
                tokens += r.getTokenIdsCount();
            }
        }
        assertTrue(tokens > 0);
    }

    @Test
    void theSteeringFieldCarriesEveryKindAndConditionToModelService() throws Exception {
        float[] u = new float[576];
        for (int j = 0; j < u.length; j++) u[j] = (float) Math.cos(j * 0.37);
        steering.v1.Intervention clamp = steering.v1.Intervention.newBuilder()
                .setHook(steering.v1.HookPoint.newBuilder().setName("blocks.10.hook_resid_pre"))
                .setVector(steering.common.tensor.TensorCodec.ofFloats(u, u.length))
                .setKind(steering.v1.InterventionKind.CLAMP).setValue(30)
                .setCondition(steering.v1.Condition.newBuilder().setHook(steering.v1.HookPoint.newBuilder().setName("blocks.5.hook_resid_post"))
                        .setDirection(steering.common.tensor.TensorCodec.ofFloats(u, u.length)).setThreshold(-1)).build();
        String spec = com.google.protobuf.util.JsonFormat.printer().print(steering.v1.SteeringSpec.newBuilder().setIntervention(clamp));
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me about the sea.\"}],\"max_tokens\":12,"
                + "\"temperature\":0,\"steering\":[" + spec + "]}";
        OpenAiCompat.Parsed p = compat.parse(JSON.readTree(body), OpenAiCompat.Kind.CHAT, "smollm2");
        assertEquals(clamp, p.request().getInterventions(0), "kind, value and condition pass through unchanged");
        GenerateResponse first = clients.modelBlocking().generate(p.request()).next();
        assertEquals(1, first.getConditionsCount());
        assertTrue(first.getConditions(0).getMet(), "threshold -1: the condition holds");
        String steered = complete(body, OpenAiCompat.Kind.CHAT).at("/choices/0/message/content").asText();
        String plain = complete(body.replace(",\"steering\":[" + spec + "]", ""), OpenAiCompat.Kind.CHAT)
                .at("/choices/0/message/content").asText();
        assertNotEquals(plain, steered);
    }

    @Test
    void outOfRangeCountsAreInvalidArgumentsNamingTheField() {
        for (String[] c : new String[][]{
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"logprobs\":true,\"top_logprobs\":21}", "top_logprobs"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"top_logprobs\":2}", "top_logprobs"},
                {"{\"prompt\":\"Hi\",\"logprobs\":-1}", "logprobs"}}) {
            OpenAiCompat.Kind kind = c[0].contains("messages") ? OpenAiCompat.Kind.CHAT : OpenAiCompat.Kind.COMPLETION;
            var e = assertThrows(StatusRuntimeException.class, () -> compat.parse(JSON.readTree(c[0]), kind, "smollm2"));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().startsWith(c[1]), e.getStatus().getDescription());
        }
    }
}
