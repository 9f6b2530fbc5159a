package steering.gateway.playground;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.StatusRuntimeException;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import steering.common.grpc.Errors;
import steering.gateway.bootstrap.GatewayJudges;
import steering.gateway.bootstrap.GatewayMesh;
import steering.gateway.eval.Evaluator;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.openai.OpenAiCompat;

import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The JSON and server-sent-event endpoints of the playground page (served at / from META-INF/resources). API keys
 * are checked by GatewaySecurity exactly as for /v1; errors are {"error": {message, code, field}} with the HTTP
 * status of the gRPC one (INVALID_ARGUMENT 400, NOT_FOUND 404, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503).
 */
@Path("/api")
@Blocking
@Produces(MediaType.APPLICATION_JSON)
public class PlaygroundResource {
    @Inject
    GatewayMesh mesh;

    @Inject
    GatewayJudges judges;

    private volatile Parts parts;

    private record Parts(SideBySide sideBySide, MeshViews views, Evaluations evaluations) {}

    private Parts parts() {
        Parts p = parts;
        if (p == null) {
            SteeringResolver resolver = new SteeringResolver(mesh.clients());
            long deadline = mesh.deadlineSeconds();
            parts = p = new Parts(new SideBySide(mesh.clients(), resolver, deadline), new MeshViews(mesh.clients(), deadline),
                    new Evaluations(mesh.clients(), resolver, new Evaluator(mesh.clients(), resolver, judges::judge), judges.operations(), deadline));
        }
        return p;
    }

    @GET
    @Path("/info")
    public Response info() {
        return json(() -> parts().views().info());
    }

    @GET
    @Path("/vectors")
    public Response vectors() {
        return json(() -> parts().views().vectors());
    }

    @GET
    @Path("/vectors/{id}")
    public Response vector(@PathParam("id") String id) {
        return json(() -> parts().views().vector(id));
    }

    @GET
    @Path("/saes")
    public Response saes() {
        return json(() -> parts().views().saes());
    }

    @POST
    @Path("/features/search")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response searchFeatures(JsonNode body) {
        return json(() -> parts().views().searchFeatures(body));
    }

    @GET
    @Path("/saes/{sae}/features/{feature}")
    public Response feature(@PathParam("sae") String sae, @PathParam("feature") String feature,
                            @QueryParam("top_contexts") @DefaultValue("10") String topContexts) {
        return json(() -> parts().views().feature(sae, integer("feature", feature), integer("top_contexts", topContexts)));
    }

    @POST
    @Path("/evaluations")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response evaluate(JsonNode body) {
        return json(() -> parts().evaluations().start(body));
    }

    @GET
    @Path("/operations/{id}")
    public Response operation(@PathParam("id") String id) {
        return json(() -> parts().evaluations().get(id));
    }

    @POST
    @Path("/operations/{id}/cancel")
    public Response cancel(@PathParam("id") String id) {
        return json(() -> parts().evaluations().cancel(id));
    }

    /** Both columns as server-sent events: start {seed, steering}, token {column, text}, error {column, error}, end. */
    @POST
    @Path("/generate")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({"text/event-stream", MediaType.APPLICATION_JSON})
    public Response generate(JsonNode body) {
        SideBySide.Run run;
        try {
            run = parts().sideBySide().start(body);
        } catch (RuntimeException e) {
            return error(e);
        }
        StreamingOutput sse = out -> run.stream((event, data) -> {
            out.write(("event: " + event + "\ndata: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        });
        return Response.ok(sse, "text/event-stream").header("Cache-Control", "no-cache").build();
    }

    private static int integer(String field, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw Errors.invalid(field, "'" + value + "' is not an integer");
        }
    }

    private static Response json(Supplier<ObjectNode> body) {
        try {
            return Response.ok(body.get(), MediaType.APPLICATION_JSON).build();
        } catch (RuntimeException e) {
            return error(e);
        }
    }

    private static Response error(RuntimeException e) {
        StatusRuntimeException s = Errors.toStatus(e);
        return Response.status(OpenAiCompat.httpStatus(s)).entity(PlaygroundJson.error(s)).type(MediaType.APPLICATION_JSON).build();
    }
}
