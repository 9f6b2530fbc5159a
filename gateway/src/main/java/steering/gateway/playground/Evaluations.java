package steering.gateway.playground;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import steering.common.grpc.Errors;
import steering.common.ops.OperationRegistry;
import steering.gateway.eval.Evaluator;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.grpc.TokenizedPrompt;
import steering.gateway.mesh.MeshClients;
import steering.gateway.openai.OpenAiCompat;
import steering.v1.*;

import java.util.List;

/**
 * Evaluate from the page: a behaviour x coherence sweep over scales for the picked steering, run by the gateway's
 * own Evaluator in the same operation registry as gRPC's StartEvaluate (so the page can also show an evaluation
 * that a gRPC client started, by its id).
 */
public final class Evaluations {
    static final int MAX_SCALES = 32;

    private final MeshClients mesh;
    private final SteeringResolver resolver;
    private final Evaluator evaluator;
    private final OperationRegistry operations;
    private final long deadlineSeconds;

    public Evaluations(MeshClients mesh, SteeringResolver resolver, Evaluator evaluator, OperationRegistry operations, long deadlineSeconds) {
        this.mesh = mesh;
        this.resolver = resolver;
        this.evaluator = evaluator;
        this.operations = operations;
        this.deadlineSeconds = deadlineSeconds;
    }

    /**
     * Body: {prompt, chat?, criterion, steering: [SteeringSpec JSON], scales: [numbers], samples?: 1..64 (2),
     * label?, judge?: "embedding" | "chat", max_tokens? (24), temperature? (1.0), top_p?, seed? (0)}.
     * Returns the operation (PENDING or RUNNING).
     */
    public ObjectNode start(JsonNode body) {
        PlaygroundJson.requireObject(body);
        Prompt prompt = PlaygroundInputs.prompt(body);
        SamplingParams sampling = PlaygroundInputs.sampling(body, 24, 1.0, 0L);
        List<SteeringSpec> specs = OpenAiCompat.steeringSpecs(body.get("steering"), "steering");
        if (specs.isEmpty()) throw Errors.invalid("steering", "at least one SteeringSpec is required");
        EvaluatedConfig.Builder config = EvaluatedConfig.newBuilder().addAllSteering(specs)
                .setLabel(body.path("label").asText("steered"));
        JsonNode scales = body.get("scales");
        if (scales == null || !scales.isArray() || scales.isEmpty() || scales.size() > MAX_SCALES) {
            throw Errors.invalid("scales", "an array of 1 to " + MAX_SCALES + " numbers is required");
        }
        for (int i = 0; i < scales.size(); i++) {
            if (!scales.get(i).isNumber()) throw Errors.invalid("scales[" + i + "]", scales.get(i) + " is not a number");
            config.addScales(scales.get(i).asDouble());
        }
        String judge = body.path("judge").asText("embedding");
        if (!judge.equals("embedding") && !judge.equals("chat")) throw Errors.invalid("judge", "'" + judge + "' is not one of embedding, chat");
        EvaluateRequest request = EvaluateRequest.newBuilder().setPrompt(prompt).setSampling(sampling).addConfigs(config)
                .setCriterion(body.path("criterion").asText(""))
                .setSamples(PlaygroundJson.integer(body, "samples", 2, 1, 64))
                .setBehaviourJudge(judge.equals("chat") ? BehaviourJudge.BEHAVIOUR_JUDGE_CHAT : BehaviourJudge.BEHAVIOUR_JUDGE_EMBEDDING)
                .build();
        PlaygroundInputs.resolve(resolver, specs, TokenizedPrompt.asGiven(prompt)); // refuses a bad spec with the page's field names
        EvaluateRequest checked = restatedConfig(request);
        PlaygroundInputs.checkPrompt(mesh, prompt, deadlineSeconds);
        return operation(operations.start("Evaluate", op -> evaluator.run(checked, op)));
    }

    /** The Evaluator names fields of EvaluateRequest ("configs[0].steering[1]"); the page's body has them at the top. */
    private EvaluateRequest restatedConfig(EvaluateRequest request) {
        try {
            return evaluator.validate(request);
        } catch (io.grpc.StatusRuntimeException e) {
            var r = Errors.restated(e, f -> f.startsWith("configs[0].") ? f.substring("configs[0].".length()) : null);
            throw r == null ? e : r;
        }
    }

    /** The operation's state; once it has succeeded, its EvaluateResult (points, best scale) under "result". */
    public ObjectNode get(String id) {
        return operation(operations.get(id));
    }

    public ObjectNode cancel(String id) {
        return operation(operations.cancel(id));
    }

    private static ObjectNode operation(Operation op) {
        ObjectNode out = PlaygroundJson.proto(op.toBuilder().clearResult());
        if (op.hasResult() && op.getResult().is(EvaluateResult.class)) {
            try {
                out.set("result", PlaygroundJson.proto(op.getResult().unpack(EvaluateResult.class)));
            } catch (InvalidProtocolBufferException e) {
                throw Errors.internal("operation " + op.getId() + " has an unreadable result", e);
            }
        }
        return out;
    }
}
