package steering.model.grpc;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.model.loader.LoadedModel;
import steering.model.runtime.HookPoint;
import steering.model.runtime.Intervention;
import steering.model.runtime.ModelConfig;
import steering.model.tokenizer.ChatTemplate;
import steering.v1.ChatMessage;
import steering.v1.Prompt;

import java.util.ArrayList;
import java.util.List;

/** Validates wire requests and turns them into runtime types; every rejection names the field and the range. */
final class RequestMapper {
    private final LoadedModel model;
    private final ModelConfig cfg;
    private final int maxRequestTokens;

    RequestMapper(LoadedModel model, int maxRequestTokens) {
        this.model = model;
        this.cfg = model.config();
        this.maxRequestTokens = maxRequestTokens;
    }

    int maxRequestTokens() {
        return maxRequestTokens;
    }

    /** Token ids of a prompt; an empty prompt is allowed only when {@code allowEmpty}. */
    int[] promptIds(Prompt prompt, String field, boolean allowEmpty) {
        int[] ids = switch (prompt.getKindCase()) {
            case TEXT -> model.tokenizer().encode(prompt.getText(),
                    prompt.hasAddBos() ? prompt.getAddBos() : model.tokenizer().addsBosByDefault());
            case TOKENS -> {
                int[] t = prompt.getTokens().getIdsList().stream().mapToInt(Integer::intValue).toArray();
                for (int i = 0; i < t.length; i++) {
                    if (t[i] < 0 || t[i] >= cfg.vocabSize()) {
                        throw Errors.invalid(field + ".tokens.ids[" + i + "]",
                                "token id " + t[i] + " is out of range [0, " + (cfg.vocabSize() - 1) + "]");
                    }
                }
                yield t;
            }
            case CHAT -> chatIds(prompt, field);
            case KIND_NOT_SET -> new int[0];
        };
        if (prompt.getKindCase() == Prompt.KindCase.TEXT && prompt.getText().isEmpty() && !allowEmpty) {
            throw Errors.invalid(field + ".text", "the prompt is empty");
        }
        if (ids.length == 0 && !allowEmpty) throw Errors.invalid(field, "the prompt is empty: give text, tokens or chat");
        if (ids.length > maxRequestTokens) {
            throw Errors.invalid(field, "the prompt has " + ids.length + " tokens, the limit is " + maxRequestTokens);
        }
        return ids;
    }

    private int[] chatIds(Prompt prompt, String field) {
        ChatTemplate template = model.chatTemplate();
        if (template == null) throw Errors.invalid(field + ".chat", "model " + cfg.modelId() + " has no chat template; send text");
        List<ChatTemplate.Message> messages = new ArrayList<>();
        List<ChatMessage> wire = prompt.getChat().getMessagesList();
        if (wire.isEmpty()) throw Errors.invalid(field + ".chat.messages", "at least one message is required");
        for (int i = 0; i < wire.size(); i++) {
            String role = wire.get(i).getRole();
            if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
                throw Errors.invalid(field + ".chat.messages[" + i + "].role", "'" + role + "' is not one of system, user, assistant");
            }
            messages.add(new ChatTemplate.Message(role, wire.get(i).getContent()));
        }
        boolean generationPrompt = !prompt.getChat().hasAddGenerationPrompt() || prompt.getChat().getAddGenerationPrompt();
        // the rendered template carries its own BOS text when the model wants one
        return model.tokenizer().encode(template.render(messages, generationPrompt), false);
    }

    List<Intervention> interventions(List<steering.v1.Intervention> wire, int promptLength) {
        List<Intervention> out = new ArrayList<>(wire.size());
        for (int i = 0; i < wire.size(); i++) {
            out.add(intervention(wire.get(i), "interventions[" + i + "]", promptLength));
        }
        return out;
    }

    private Intervention intervention(steering.v1.Intervention w, String field, int promptLength) {
        HookPoint hook;
        try {
            hook = HookPoint.parse(w.getHook().getName(), cfg.nLayers());
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field + ".hook.name", e.getMessage());
        }
        if (!w.hasVector()) throw Errors.invalid(field + ".vector", "a vector of shape [" + cfg.dModel() + "] is required");
        float[] v;
        try {
            v = TensorCodec.toFloats(w.getVector());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw Errors.invalid(field + ".vector", e.getMessage());
        }
        List<Long> shape = w.getVector().getShapeList();
        Intervention.Policy policy = switch (w.getPositions()) {
            case PROMPT_FRONT -> Intervention.Policy.PROMPT_FRONT;
            case FROM_INDEX -> Intervention.Policy.FROM_INDEX;
            // positions from / before the prompt's length: decode steps only, or the prompt only
            case GENERATED_ONLY -> Intervention.Policy.FROM_INDEX;
            case PROMPT_ONLY -> Intervention.Policy.BEFORE_INDEX;
            case ALL, POSITION_POLICY_UNSPECIFIED -> Intervention.Policy.ALL;
            default -> throw Errors.invalid(field + ".positions", "unknown position policy " + w.getPositionsValue()
                    + "; allowed: ALL, PROMPT_FRONT, FROM_INDEX, PROMPT_ONLY, GENERATED_ONLY");
        };
        boolean relativeToPrompt = w.getPositions() == steering.v1.PositionPolicy.GENERATED_ONLY
                || w.getPositions() == steering.v1.PositionPolicy.PROMPT_ONLY;
        if (relativeToPrompt && promptLength < 0) {
            throw Errors.invalid(field + ".positions", w.getPositions() + " needs a prompt");
        }
        if (w.getKind() != steering.v1.InterventionKind.ADD) {
            return projection(w, field, hook, v, shape, policy, relativeToPrompt ? promptLength : w.getFromIndex());
        }
        int rows;
        if (shape.size() == 1 && shape.get(0) == cfg.dModel()) {
            rows = 1;
        } else if (shape.size() == 2 && shape.get(1) == cfg.dModel() && shape.get(0) >= 1) {
            rows = (int) (long) shape.get(0);
            if (rows > 1 && policy != Intervention.Policy.PROMPT_FRONT) {
                throw Errors.invalid(field + ".vector", "shape " + shape + " has several rows, which only PROMPT_FRONT uses; "
                        + "other policies take shape [" + cfg.dModel() + "]");
            }
        } else {
            throw Errors.invalid(field + ".vector", "shape " + shape + " does not fit d_model " + cfg.dModel()
                    + ": expected [" + cfg.dModel() + "] or [n, " + cfg.dModel() + "]");
        }
        for (int j = 0; j < v.length; j++) {
            if (!Float.isFinite(v[j])) throw Errors.invalid(field + ".vector", "element " + j + " is " + v[j] + "; values must be finite");
        }
        double scale = w.hasScale() ? w.getScale() : 1.0;
        if (!Double.isFinite(scale) || Math.abs(scale) > 1e6) {
            throw Errors.invalid(field + ".scale", scale + " is outside the allowed range [-1e6, 1e6]");
        }
        if (policy == Intervention.Policy.PROMPT_FRONT && promptLength >= 0 && rows > promptLength) {
            throw Errors.invalid(field + ".vector", "PROMPT_FRONT adds " + rows + " rows but the prompt has only "
                    + promptLength + " tokens");
        }
        if (policy == Intervention.Policy.FROM_INDEX && (w.getFromIndex() < 0 || w.getFromIndex() >= cfg.contextLength())) {
            throw Errors.invalid(field + ".from_index", w.getFromIndex() + " is outside [0, " + (cfg.contextLength() - 1) + "]");
        }
        return new Intervention(hook, v, rows, (float) scale, policy, relativeToPrompt ? promptLength : w.getFromIndex());
    }

    /** ABLATE, CLAMP or CAP: directions [d] or (ABLATE) [k, d], a finite value, no scale. */
    private Intervention projection(steering.v1.Intervention w, String field, HookPoint hook, float[] v, List<Long> shape,
                                    Intervention.Policy policy, int index) {
        Intervention.Kind kind = switch (w.getKind()) {
            case ABLATE -> Intervention.Kind.ABLATE;
            case CLAMP -> Intervention.Kind.CLAMP;
            case CAP_AT_MOST -> Intervention.Kind.CAP_AT_MOST;
            case CAP_AT_LEAST -> Intervention.Kind.CAP_AT_LEAST;
            default -> throw Errors.invalid(field + ".kind", "unknown kind " + w.getKindValue()
                    + "; allowed: ADD, ABLATE, CLAMP, CAP_AT_MOST, CAP_AT_LEAST");
        };
        int k;
        if (shape.size() == 1 && shape.get(0) == cfg.dModel()) {
            k = 1;
        } else if (kind == Intervention.Kind.ABLATE && shape.size() == 2 && shape.get(1) == cfg.dModel()
                && shape.get(0) >= 1 && shape.get(0) <= cfg.dModel()) {
            k = (int) (long) shape.get(0);
        } else {
            throw Errors.invalid(field + ".vector", "shape " + shape + " does not fit " + kind + ": expected ["
                    + cfg.dModel() + "]" + (kind == Intervention.Kind.ABLATE ? " or [k, " + cfg.dModel() + "] with k <= d_model" : ""));
        }
        for (int j = 0; j < v.length; j++) {
            if (!Float.isFinite(v[j])) throw Errors.invalid(field + ".vector", "element " + j + " is " + v[j] + "; values must be finite");
        }
        if (w.hasScale()) {
            throw Errors.invalid(field + ".scale", "scale applies to ADD only; " + kind + " takes value (CLAMP, CAP) or nothing (ABLATE)");
        }
        if (kind != Intervention.Kind.ABLATE && !w.hasValue()) {
            throw Errors.invalid(field + ".value", kind + " needs the target projection value");
        }
        double value = w.getValue();
        if (!Double.isFinite(value) || Math.abs(value) > 1e6) {
            throw Errors.invalid(field + ".value", value + " is outside the allowed range [-1e6, 1e6]");
        }
        if (policy == Intervention.Policy.PROMPT_FRONT) {
            throw Errors.invalid(field + ".positions", "PROMPT_FRONT places rows by position, which " + kind + " does not have");
        }
        if (policy == Intervention.Policy.FROM_INDEX && (index < 0 || index >= cfg.contextLength())) {
            throw Errors.invalid(field + ".from_index", index + " is outside [0, " + (cfg.contextLength() - 1) + "]");
        }
        try {
            return Intervention.projection(kind, hook, v, k, (float) value, policy, index);
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field + ".vector", e.getMessage());
        }
    }

    List<HookPoint> hooks(List<steering.v1.HookPoint> wire, String field) {
        if (wire.isEmpty()) throw Errors.invalid(field, "at least one hook point is required, e.g. blocks.0.hook_resid_post");
        List<HookPoint> out = new ArrayList<>();
        for (int i = 0; i < wire.size(); i++) {
            try {
                HookPoint h = HookPoint.parse(wire.get(i).getName(), cfg.nLayers());
                if (!out.contains(h)) out.add(h);
            } catch (IllegalArgumentException e) {
                throw Errors.invalid(field + "[" + i + "].name", e.getMessage());
            }
        }
        return out;
    }
}
