package steering.model.grpc;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.model.engine.Conditional;
import steering.model.loader.LoadedModel;
import steering.common.steer.HookPoint;
import steering.common.steer.VectorShape;
import steering.model.runtime.Intervention;
import steering.model.runtime.ModelConfig;
import steering.model.tokenizer.ChatTemplate;
import steering.v1.ChatMessage;
import steering.v1.Prompt;
import steering.v1.TokenIds;

import java.util.ArrayList;
import java.util.List;

/**
 * Validates wire requests and turns them into runtime types; every rejection names the field and the range. Sizes
 * are checked before any work that grows with them: a text field is measured before it is tokenized (the tokenizer's
 * native code took 19 s and 2 GB for an 8 MB text, and panicked on 15 MB), a list is counted before it is read.
 */
final class RequestMapper {
    /** the default limit of a text field, in UTF-8 bytes per token a request may hold: tokens are rarely over 10 */
    static final int TEXT_BYTES_PER_TOKEN = 32;
    /** all the inputs of one CaptureActivations together: this many text fields' worth */
    static final int REQUEST_TEXT_FIELDS = 16;
    static final int MAX_INPUTS = 256;
    static final int MAX_INTERVENTIONS = 64;
    /** stop strings are matched against the text's tail at every step, in time that grows with their square */
    static final int MAX_STOP_STRINGS = 16, MAX_STOP_CHARS = 256;

    private final LoadedModel model;
    private final ModelConfig cfg;
    private final int maxRequestTokens;
    private final int maxTextBytes;

    /** @param maxTextBytes the most UTF-8 bytes of one text field (0: TEXT_BYTES_PER_TOKEN x maxRequestTokens) */
    RequestMapper(LoadedModel model, int maxRequestTokens, int maxTextBytes) {
        this.model = model;
        this.cfg = model.config();
        this.maxRequestTokens = maxRequestTokens;
        this.maxTextBytes = maxTextBytes > 0 ? maxTextBytes : TEXT_BYTES_PER_TOKEN * maxRequestTokens;
    }

    int maxRequestTokens() {
        return maxRequestTokens;
    }

    /** Refuses a text longer than a text field may be, before anything tokenizes it; returns its UTF-8 length. */
    long checkText(String text, String field) {
        return checkText(text, field, maxTextBytes, "a text field");
    }

    private static long checkText(String text, String field, long limit, String what) {
        long bytes = text.length() > limit ? text.length() : utf8Length(text);
        if (bytes > limit) {
            throw Errors.invalid(field, "the text has " + (text.length() > limit ? "more than " + limit : bytes)
                    + " bytes of UTF-8, the limit of " + what + " is " + limit);
        }
        return bytes;
    }

    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            n += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
        }
        return n;
    }

    /** Refuses a list longer than {@code limit} before it is read. */
    static void checkCount(int count, int limit, String field, String what) {
        if (count > limit) throw Errors.invalid(field, count + " " + what + " is over the limit of " + limit);
    }

    /** The texts of every input of a request together, refused over REQUEST_TEXT_FIELDS text fields' worth. */
    void checkInputs(List<Prompt> inputs, String field) {
        checkCount(inputs.size(), MAX_INPUTS, field, "inputs");
        long total = 0;
        for (int i = 0; i < inputs.size(); i++) {
            Prompt p = inputs.get(i);
            if (p.getKindCase() == Prompt.KindCase.TEXT) total += checkText(p.getText(), field + "[" + i + "].text");
        }
        long limit = (long) REQUEST_TEXT_FIELDS * maxTextBytes;
        if (total > limit) throw Errors.invalid(field, "the texts have " + total + " bytes of UTF-8 together, the limit is " + limit);
    }

    void checkStops(List<String> stops, String field) {
        checkCount(stops.size(), MAX_STOP_STRINGS, field, "stop strings");
        for (int i = 0; i < stops.size(); i++) {
            if (stops.get(i).length() > MAX_STOP_CHARS) {
                throw Errors.invalid(field + "[" + i + "]", stops.get(i).length() + " characters is over the limit of " + MAX_STOP_CHARS);
            }
        }
    }

    /** The ids of {@code tokens} (the field {@code field}), each checked against the vocabulary. */
    int[] tokenIds(TokenIds tokens, String field) {
        int[] t = tokens.getIdsList().stream().mapToInt(Integer::intValue).toArray();
        for (int i = 0; i < t.length; i++) {
            if (t[i] < 0 || t[i] >= cfg.vocabSize()) {
                throw Errors.invalid(field + ".ids[" + i + "]", "token id " + t[i] + " is out of range [0, " + (cfg.vocabSize() - 1) + "]");
            }
        }
        return t;
    }

    /** Token ids of a prompt; an empty prompt is allowed only when {@code allowEmpty}. */
    int[] promptIds(Prompt prompt, String field, boolean allowEmpty) {
        int[] ids = switch (prompt.getKindCase()) {
            case TEXT -> {
                checkText(prompt.getText(), field + ".text");
                yield model.tokenizer().encode(prompt.getText(),
                        prompt.hasAddBos() ? prompt.getAddBos() : model.tokenizer().addsBosByDefault());
            }
            case TOKENS -> {
                checkLength(prompt.getTokens().getIdsCount(), field);
                yield tokenIds(prompt.getTokens(), field + ".tokens");
            }
            case CHAT -> chatIds(prompt, field);
            case KIND_NOT_SET -> new int[0];
        };
        if (prompt.getKindCase() == Prompt.KindCase.TEXT && prompt.getText().isEmpty() && !allowEmpty) {
            throw Errors.invalid(field + ".text", "the prompt is empty");
        }
        if (ids.length == 0 && !allowEmpty) throw Errors.invalid(field, "the prompt is empty: give text, tokens or chat");
        checkLength(ids.length, field);
        return ids;
    }

    void checkLength(int tokens, String field) {
        if (tokens > maxRequestTokens) {
            throw Errors.invalid(field, "the prompt has " + tokens + " tokens, the limit is " + maxRequestTokens);
        }
    }

    private int[] chatIds(Prompt prompt, String field) {
        ChatTemplate template = model.chatTemplate();
        if (template == null) throw Errors.invalid(field + ".chat", "model " + cfg.modelId() + " has no chat template; send text");
        List<ChatTemplate.Message> messages = new ArrayList<>();
        List<ChatMessage> wire = prompt.getChat().getMessagesList();
        if (wire.isEmpty()) throw Errors.invalid(field + ".chat.messages", "at least one message is required");
        checkCount(wire.size(), maxRequestTokens, field + ".chat.messages", "messages");
        long total = 0;
        for (int i = 0; i < wire.size(); i++) {
            total += checkText(wire.get(i).getContent(), field + ".chat.messages[" + i + "].content");
            checkText(wire.get(i).getRole(), field + ".chat.messages[" + i + "].role", 16, "a role");
            if (total > maxTextBytes) {
                throw Errors.invalid(field + ".chat.messages", "the contents have more than " + maxTextBytes
                        + " bytes of UTF-8 together, the limit of a text field");
            }
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

    /** A tensor's values as floats, every one finite; errors name {@code field}. */
    private static float[] finiteFloats(steering.v1.Tensor t, String field) {
        float[] v;
        try {
            v = TensorCodec.toFloats(t);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw Errors.invalid(field, e.getMessage());
        }
        for (int j = 0; j < v.length; j++) {
            if (!Float.isFinite(v[j])) throw Errors.invalid(field, "element " + j + " is " + v[j] + "; values must be finite");
        }
        return v;
    }

    /** Interventions of a one-shot forward (Score, CaptureActivations): conditions belong to Generate. */
    List<Intervention> interventions(List<steering.v1.Intervention> wire, int promptLength) {
        Generation g = generation(wire, promptLength);
        if (!g.conditionals().isEmpty()) {
            throw Errors.invalid("interventions[" + g.conditionals().get(0).index() + "].condition",
                    "conditions apply to Generate only (they are decided on the prompt before the new tokens)");
        }
        return g.always();
    }

    /** A generation's interventions: the ones that always apply, and the conditional ones (CAST). */
    record Generation(List<Intervention> always, List<Conditional> conditionals) {}

    Generation generation(List<steering.v1.Intervention> wire, int promptLength) {
        checkCount(wire.size(), MAX_INTERVENTIONS, "interventions", "interventions");
        List<Intervention> always = new ArrayList<>(wire.size());
        List<Conditional> conditionals = new ArrayList<>();
        for (int i = 0; i < wire.size(); i++) {
            String field = "interventions[" + i + "]";
            Intervention iv = intervention(wire.get(i), field, promptLength);
            if (wire.get(i).hasCondition()) conditionals.add(condition(wire.get(i).getCondition(), field + ".condition", i, iv));
            else always.add(iv);
        }
        return new Generation(always, conditionals);
    }

    private Conditional condition(steering.v1.Condition c, String field, int index, Intervention iv) {
        HookPoint hook;
        try {
            hook = HookPoint.parse(c.getHook().getName(), cfg.nLayers());
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field + ".hook.name", e.getMessage());
        }
        if (!c.hasDirection()) throw Errors.invalid(field + ".direction", "a direction of shape [" + cfg.dModel() + "] is required");
        float[] direction = modelRow(c.getDirection(), field + ".direction");
        double norm = 0;
        for (float x : direction) norm += (double) x * x;
        if (norm == 0) throw Errors.invalid(field + ".direction", "the direction is zero");
        if (!Double.isFinite(c.getThreshold()) || c.getThreshold() < -1 || c.getThreshold() > 1) {
            throw Errors.invalid(field + ".threshold", c.getThreshold() + " is outside [-1, 1] (it is compared with a cosine)");
        }
        boolean greater = switch (c.getComparison()) {
            case GREATER -> true;
            case LESS -> false;
            default -> throw Errors.invalid(field + ".comparison", "unknown comparison " + c.getComparisonValue() + "; allowed: GREATER, LESS");
        };
        return new Conditional(index, iv, hook, direction, c.getThreshold(), greater);
    }

    private Intervention intervention(steering.v1.Intervention w, String field, int promptLength) {
        HookPoint hook;
        try {
            hook = HookPoint.parse(w.getHook().getName(), cfg.nLayers());
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field + ".hook.name", e.getMessage());
        }
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
        int index = relativeToPrompt ? promptLength : w.getFromIndex();
        if (w.getKind() == steering.v1.InterventionKind.SAE_FEATURE) return saeFeature(w, field, hook, policy, index);
        if (w.hasSaeFeature()) throw Errors.invalid(field + ".sae_feature", "sae_feature belongs to kind SAE_FEATURE, not " + w.getKind());
        if (!w.hasVector()) throw Errors.invalid(field + ".vector", "a vector of shape [" + cfg.dModel() + "] is required");
        float[] v = finiteFloats(w.getVector(), field + ".vector");
        List<Long> shape = w.getVector().getShapeList();
        if (w.getKind() != steering.v1.InterventionKind.ADD) {
            return projection(w, field, hook, v, shape, policy, index);
        }
        int rows;
        try {
            rows = VectorShape.rows(shape, cfg.dModel(), "d_model");
            VectorShape.requireOneRowUnlessPromptFront(shape, rows, policy == Intervention.Policy.PROMPT_FRONT, cfg.dModel());
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field + ".vector", e.getMessage());
        }
        double scale = w.hasScale() ? w.getScale() : 1.0;
        if (!Double.isFinite(scale) || Math.abs(scale) > 1e6) {
            throw Errors.invalid(field + ".scale", scale + " is outside the allowed range [-1e6, 1e6]");
        }
        if (policy == Intervention.Policy.PROMPT_FRONT && promptLength >= 0 && rows > promptLength) {
            throw Errors.invalid(field + ".vector", "PROMPT_FRONT adds " + rows + " rows but the prompt has only "
                    + promptLength + " tokens");
        }
        checkFromIndex(policy, index, field);
        return new Intervention(hook, v, rows, (float) scale, policy, index);
    }

    private void checkFromIndex(Intervention.Policy policy, int index, String field) {
        if (policy == Intervention.Policy.FROM_INDEX && (index < 0 || index >= cfg.contextLength())) {
            throw Errors.invalid(field + ".from_index", index + " is outside [0, " + (cfg.contextLength() - 1) + "]");
        }
    }

    /** What every kind but ADD shares: no scale, a finite value (when the kind needs one), no PROMPT_FRONT. */
    private double checkedValue(steering.v1.Intervention w, String field, String kind, boolean needsValue,
                                Intervention.Policy policy, int index) {
        if (w.hasScale()) {
            throw Errors.invalid(field + ".scale", "scale applies to ADD only; " + kind + " takes value (CLAMP, CAP, SAE_FEATURE) or nothing (ABLATE)");
        }
        if (needsValue && !w.hasValue()) throw Errors.invalid(field + ".value", kind + " needs the target value");
        double value = w.getValue();
        if (!Double.isFinite(value) || Math.abs(value) > 1e6) {
            throw Errors.invalid(field + ".value", value + " is outside the allowed range [-1e6, 1e6]");
        }
        if (policy == Intervention.Policy.PROMPT_FRONT) {
            throw Errors.invalid(field + ".positions", "PROMPT_FRONT places rows by position, which " + kind + " does not have");
        }
        checkFromIndex(policy, index, field);
        return value;
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
                    + "; allowed: ADD, ABLATE, CLAMP, CAP_AT_MOST, CAP_AT_LEAST, SAE_FEATURE");
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
        double value = checkedValue(w, field, kind.name(), kind != Intervention.Kind.ABLATE, policy, index);
        try {
            return Intervention.projection(kind, hook, v, k, (float) value, policy, index);
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field + ".vector", e.getMessage());
        }
    }

    /** SAE_FEATURE: the resolved tensors of sae_feature (model-service knows no SAE ids), a finite value. */
    private Intervention saeFeature(steering.v1.Intervention w, String field, HookPoint hook, Intervention.Policy policy, int index) {
        if (w.hasVector()) {
            throw Errors.invalid(field + ".vector", "SAE_FEATURE reads its rows from sae_feature; leave vector unset");
        }
        double value = checkedValue(w, field, "SAE_FEATURE", true, policy, index);
        String f = field + ".sae_feature";
        steering.v1.SaeFeature sae = w.getSaeFeature();
        if (!sae.hasEncoder()) {
            throw Errors.invalid(f + ".encoder", "model-service takes the SAE's tensors (encoder, decoder, biases); to name a "
                    + "feature by sae_id and index, send the intervention through the gateway or vector-service, which resolve it");
        }
        float[] encoder = modelRow(sae.getEncoder(), f + ".encoder");
        if (!sae.hasDecoder()) throw Errors.invalid(f + ".decoder", "the feature's decoder row of shape [" + cfg.dModel() + "] is required");
        float[] decoder = modelRow(sae.getDecoder(), f + ".decoder");
        float[] inputBias = sae.hasInputBias() ? modelRow(sae.getInputBias(), f + ".input_bias") : null;
        if (!Double.isFinite(sae.getEncoderBias())) throw Errors.invalid(f + ".encoder_bias", sae.getEncoderBias() + " is not finite");
        if (sae.hasThreshold() && !Double.isFinite(sae.getThreshold())) {
            throw Errors.invalid(f + ".threshold", sae.getThreshold() + " is not finite");
        }
        try {
            return Intervention.saeFeature(hook, encoder, sae.getEncoderBias(), decoder, inputBias,
                    sae.hasThreshold() ? sae.getThreshold() : Double.NaN, (float) value, policy, index);
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(f, e.getMessage());
        }
    }

    /** A [d_model] tensor of finite values. */
    private float[] modelRow(steering.v1.Tensor t, String field) {
        float[] v = finiteFloats(t, field);
        if (t.getShapeCount() != 1 || v.length != cfg.dModel()) {
            throw Errors.invalid(field, "shape " + t.getShapeList() + " is not [" + cfg.dModel() + "]");
        }
        return v;
    }

    List<HookPoint> hooks(List<steering.v1.HookPoint> wire, String field) {
        if (wire.isEmpty()) throw Errors.invalid(field, "at least one hook point is required, e.g. blocks.0.hook_resid_post");
        checkCount(wire.size(), HookPoint.allNames(cfg.nLayers()).size(), field, "hook points");
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
