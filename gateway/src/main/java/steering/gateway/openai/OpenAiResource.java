package steering.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.StatusRuntimeException;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import steering.common.grpc.Errors;
import steering.gateway.bootstrap.GatewayMesh;
import steering.v1.GenerateResponse;
import steering.v1.GetModelInfoRequest;
import steering.v1.ModelInfo;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * OpenAI-compatible HTTP endpoints (/v1/chat/completions, /v1/completions, /v1/models) so any OpenAI client can ask
 * for steered text: the request may carry a "steering" array (SteeringSpec objects in proto JSON form).
 * Streaming uses server-sent events, ending with "data: [DONE]".
 */
@Path("/v1")
@Blocking
public class OpenAiResource {
    @Inject
    GatewayMesh mesh;

    private volatile OpenAiCompat compat;

    private OpenAiCompat compat() {
        OpenAiCompat c = compat;
        if (c == null) compat = c = new OpenAiCompat(new steering.gateway.grpc.SteeringResolver(mesh.clients()));
        return c;
    }

    @GET
    @Path("/models")
    @Produces(MediaType.APPLICATION_JSON)
    public Response models() {
        try {
            ModelInfo info = mesh.clients().modelBlocking().withDeadlineAfter(30, TimeUnit.SECONDS)
                    .getModelInfo(GetModelInfoRequest.getDefaultInstance());
            ObjectNode out = OpenAiCompat.JSON.createObjectNode();
            out.put("object", "list");
            ObjectNode m = out.putArray("data").addObject();
            m.put("id", info.getModelId());
            m.put("object", "model");
            m.put("created", 0);
            m.put("owned_by", "steering-mesh");
            return Response.ok(out).build();
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    @POST
    @Path("/chat/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response chat(JsonNode body) {
        return handle(body, OpenAiCompat.Kind.CHAT);
    }

    @POST
    @Path("/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response completions(JsonNode body) {
        return handle(body, OpenAiCompat.Kind.COMPLETION);
    }

    private Response handle(JsonNode body, OpenAiCompat.Kind kind) {
        try {
            OpenAiCompat.Parsed p = compat().parse(body, kind, "steering-mesh");
            var stub = mesh.clients().modelBlocking().withDeadlineAfter(mesh.deadlineSeconds(), TimeUnit.SECONDS);
            Iterator<GenerateResponse> stream = stub.generate(p.request());
            if (!p.stream()) return Response.ok(compat().complete(p, stream), MediaType.APPLICATION_JSON).build();
            // fail before the 200 header when model-service rejects the request outright
            GenerateResponse first = stream.next();
            StreamingOutput sse = out -> {
                try {
                    send(out, compat().chunk(p, first, true).toString());
                    while (stream.hasNext()) send(out, compat().chunk(p, stream.next(), false).toString());
                    send(out, "[DONE]");
                } catch (StatusRuntimeException e) {
                    send(out, OpenAiCompat.errorBody((StatusRuntimeException) OpenAiCompat.restated(e, kind)).toString());
                }
            };
            return Response.ok(sse, "text/event-stream").header("Cache-Control", "no-cache").build();
        } catch (RuntimeException e) {
            return error(OpenAiCompat.restated(e, kind));
        }
    }

    private static void send(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static Response error(RuntimeException e) {
        StatusRuntimeException s = Errors.toStatus(e);
        return Response.status(OpenAiCompat.httpStatus(s)).entity(OpenAiCompat.errorBody(s)).type(MediaType.APPLICATION_JSON).build();
    }
}
