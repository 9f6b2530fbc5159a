package steering.sae.encode;

import io.grpc.Status;
import steering.common.client.ModelClient;
import steering.sae.store.SaeRecord;
import steering.v1.ModelInfo;
import steering.v1.Prompt;

import java.util.List;

/** An SAE's hook as model-service serves it: checked against the served model, and captured there for prompts. */
public final class HookCapture {
    private final ModelClient model;

    public HookCapture(ModelClient model) {
        this.model = model;
    }

    /** The SAE's hook, checked against the model model-service serves (FAILED_PRECONDITION about {@code field}). */
    public String usableHook(SaeRecord rec, String field) {
        String hook = rec.config().hookName();
        if (hook.isEmpty()) {
            throw Status.FAILED_PRECONDITION.withDescription(field + ": SAE '" + rec.id() + "' has no hook point; import it again with hook set")
                    .asRuntimeException();
        }
        ModelInfo info = model.info();
        if (!info.getHookPointsList().contains(hook) || info.getDModel() != rec.config().dIn()) {
            throw Status.FAILED_PRECONDITION.withDescription(field + ": SAE '" + rec.id() + "' reads " + hook + " with d_in "
                    + rec.config().dIn() + ", but model-service serves " + info.getModelId() + " (d_model " + info.getDModel() + ", "
                    + info.getNLayers() + " layers)").asRuntimeException();
        }
        return hook;
    }

    /** Captures through model-service; its complaints about the prompts name our field (not its "inputs[i]"). */
    public List<ModelClient.Captured> capture(List<Prompt> prompts, String hook, String field) {
        boolean single = prompts.size() == 1 && field.equals("prompt");
        return model.capturePrompts(prompts, hook, false, single ? i -> field : i -> field + "[" + i + "]");
    }

    /** The served model's BOS token id (negative when it has none). */
    public int bosTokenId() {
        return model.info().getBosTokenId();
    }
}
