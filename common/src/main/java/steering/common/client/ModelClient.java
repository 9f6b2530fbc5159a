package steering.common.client;

import io.grpc.StatusRuntimeException;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.Errors;
import steering.common.steer.HookPoint;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;

/**
 * The mesh's client of model-service: model facts, tokenization, activation capture, scoring, gradients and
 * generation, for sae-service, vector-service, the gateway and {@code steer}. Typed calls map model-service's
 * failures with {@link ServiceClient#wrap}; {@link #blocking()} and {@link #async()} give raw stubs on the same
 * channel to callers that relay model-service's answers as they are (the gateway).
 */
public class ModelClient extends ServiceClient {
    /** Per-token activations of one input at one hook: rows [positions.length, d_model]. */
    public record Captured(int[] tokenIds, int[] positions, float[] rows) {}

    /** A finished generation: the prompt as tokenized and the new tokens. */
    public record Generated(int[] promptIds, int[] ids, String text) {
        public int[] all() {
            int[] out = java.util.Arrays.copyOf(promptIds, promptIds.length + ids.length);
            System.arraycopy(ids, 0, out, promptIds.length, ids.length);
            return out;
        }
    }

    /** Prompts per CaptureActivations request. */
    static final int CAPTURE_BATCH = 32;
    private static final long INFO_TTL_NANOS = 30_000_000_000L;

    private volatile ModelInfo info;
    private volatile long infoAt;

    /** @param channels plaintext ({@link ChannelFactory#plaintext()}) or TLS */
    public ModelClient(String address, ChannelFactory channels, long deadlineSeconds) {
        super("model-service", address, channels, deadlineSeconds);
    }

    private ModelServiceGrpc.ModelServiceBlockingStub stub() {
        return blocking().withDeadline(deadline());
    }

    /** The model's facts (cached for 30 s). */
    public ModelInfo info() {
        ModelInfo i = info;
        if (i != null && System.nanoTime() - infoAt < INFO_TTL_NANOS) return i;
        try {
            i = stub().getModelInfo(GetModelInfoRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
        info = i;
        infoAt = System.nanoTime();
        return i;
    }

    /** INVALID_ARGUMENT naming {@code field} unless the model exposes {@code hook}; returns the hook's name. */
    public String checkHook(steering.v1.HookPoint hook, String field) {
        return checkHook(hook.getName(), field);
    }

    /** INVALID_ARGUMENT naming {@code field} unless the model exposes the hook {@code name}; returns it. */
    public String checkHook(String name, String field) {
        ModelInfo i = info();
        if (name.isEmpty()) {
            throw Errors.invalid(field, "a hook point is required, e.g. blocks.0.hook_resid_post (" + HookPoint.grammar(i.getNLayers()) + ")");
        }
        if (!i.getHookPointsList().contains(name)) {
            throw Errors.invalid(field, "'" + name + "' is not a hook point of " + i.getModelId() + " (" + HookPoint.grammar(i.getNLayers()) + ")");
        }
        return name;
    }

    public TokenizeResponse tokenize(Prompt prompt) {
        return tokenize(prompt, null);
    }

    /** Tokenizes a prompt made from our caller's {@code field} (null: none); model-service's refusal names that field. */
    public TokenizeResponse tokenize(Prompt prompt, String field) {
        try {
            return stub().tokenize(TokenizeRequest.newBuilder().setPrompt(prompt).build());
        } catch (StatusRuntimeException e) {
            throw wrap(e, field == null ? null : f -> Errors.within(f, "prompt") ? field : null);
        }
    }

    public int[] tokenize(String text, boolean addBos) {
        return tokenize(text, addBos, null);
    }

    /** The ids of {@code text}, our caller's {@code field} (null: none), which model-service's refusal names. */
    public int[] tokenize(String text, boolean addBos, String field) {
        if (text.isEmpty()) {
            int bos = info().getBosTokenId();
            return addBos && bos >= 0 ? new int[]{bos} : new int[0];
        }
        TokenizeResponse r = tokenize(Prompt.newBuilder().setText(text).setAddBos(addBos).build(), field);
        return r.getIdsList().stream().mapToInt(Integer::intValue).toArray();
    }

    public String detokenize(int[] ids) {
        DetokenizeRequest.Builder b = DetokenizeRequest.newBuilder();
        for (int id : ids) b.addIds(id);
        try {
            return stub().detokenize(b.build()).getText();
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
    }

    public static Prompt tokens(int[] ids) {
        TokenIds.Builder t = TokenIds.newBuilder();
        for (int id : ids) t.addIds(id);
        return Prompt.newBuilder().setTokens(t).build();
    }

    /** Activations of every prompt at one hook (one request per CAPTURE_BATCH prompts), in input order. */
    public List<Captured> capture(List<Prompt> prompts, String hook, Reduction reduction, PositionSelection selection) {
        return capture(prompts, hook, reduction, selection, null);
    }

    /**
     * {@link #capture(List, String, Reduction, PositionSelection)}; model-service's refusal of prompt i names our
     * caller's field {@code inputField.apply(i)} (null: the prompts are not the caller's).
     */
    public List<Captured> capture(List<Prompt> prompts, String hook, Reduction reduction, PositionSelection selection,
                                  IntFunction<String> inputField) {
        return captureRestating(prompts, hook, reduction, selection, inputField == null ? null : from -> numbered("inputs", from, inputField));
    }

    /** @param fieldsFrom for the request whose first prompt is prompt {@code from}: model-service's fields to ours */
    private List<Captured> captureRestating(List<Prompt> prompts, String hook, Reduction reduction, PositionSelection selection,
                                            IntFunction<UnaryOperator<String>> fieldsFrom) {
        List<Captured> out = new ArrayList<>(prompts.size());
        for (int from = 0; from < prompts.size(); from += CAPTURE_BATCH) {
            List<Prompt> part = prompts.subList(from, Math.min(prompts.size(), from + CAPTURE_BATCH));
            CaptureActivationsRequest req = CaptureActivationsRequest.newBuilder()
                    .addAllInputs(part)
                    .addHooks(steering.v1.HookPoint.newBuilder().setName(hook))
                    .setReduction(reduction)
                    .setSelection(selection)
                    .build();
            int got = 0;
            try {
                Iterator<CaptureActivationsResponse> it = stub().captureActivations(req);
                while (it.hasNext()) {
                    CaptureActivationsResponse r = it.next();
                    out.add(new Captured(r.getTokenIdsList().stream().mapToInt(Integer::intValue).toArray(),
                            r.getPositionsList().stream().mapToInt(Integer::intValue).toArray(),
                            TensorCodec.toFloats(r.getActivations())));
                    got++;
                }
            } catch (StatusRuntimeException e) {
                StatusRuntimeException ours = fieldsFrom == null ? null : Errors.restated(e, fieldsFrom.apply(from));
                if (ours != null) throw ours;
                if (e.getStatus().getCode() == io.grpc.Status.Code.INVALID_ARGUMENT && from > 0) {
                    // model-service numbers the inputs of this request; say where the request started
                    throw wrap(e.getStatus().withDescription("(inputs numbered from " + from + ") " + e.getStatus().getDescription()).asRuntimeException());
                }
                throw wrap(e);
            }
            if (got != part.size()) throw Errors.unavailable("model-service returned " + got + " of " + part.size() + " captures");
        }
        return out;
    }

    /** Per-token activations of every prompt at one hook, in input order. */
    public List<Captured> capturePerToken(List<Prompt> prompts, String hook, boolean excludeBos) {
        return capture(prompts, hook, Reduction.PER_TOKEN, PositionSelection.newBuilder().setExcludeBos(excludeBos).build());
    }

    /**
     * {@link #capturePerToken} of prompts that our caller sent as Prompts: model-service's refusal of
     * {@code inputs[i].text} names our caller's {@code promptField.apply(i) + ".text"}.
     */
    public List<Captured> capturePrompts(List<Prompt> prompts, String hook, boolean excludeBos, IntFunction<String> promptField) {
        return captureRestating(prompts, hook, Reduction.PER_TOKEN, PositionSelection.newBuilder().setExcludeBos(excludeBos).build(),
                from -> numberedKeepingPath("inputs", from, promptField));
    }

    /** The mean activation of each prompt over its tokens. */
    public List<float[]> captureMean(List<Prompt> prompts, String hook, boolean excludeBos) {
        return captureMean(prompts, hook, excludeBos, null);
    }

    /** {@link #captureMean(List, String, boolean)}; prompt i is our caller's {@code inputField.apply(i)}. */
    public List<float[]> captureMean(List<Prompt> prompts, String hook, boolean excludeBos, IntFunction<String> inputField) {
        List<float[]> out = new ArrayList<>();
        for (Captured c : capture(prompts, hook, Reduction.MEAN, PositionSelection.newBuilder().setExcludeBos(excludeBos).build(),
                inputField)) {
            out.add(c.rows());
        }
        return out;
    }

    public ScoreResponse score(ScoreRequest request) {
        try {
            return stub().score(request);
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
    }

    /** Log-probs and their gradients with respect to the trainable vectors (the trained recipe's one call per step). */
    public ScoreGradientsResponse scoreGradients(ScoreGradientsRequest request) {
        try {
            return stub().scoreGradients(request);
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
    }

    /** The completion's text of a sampled generation of {@code prompt}. */
    public String generate(String prompt, int maxTokens, float temperature, long seed) {
        return generate(GenerateRequest.newBuilder()
                .setPrompt(Prompt.newBuilder().setText(prompt))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(temperature).setSeed(seed))
                .build()).text();
    }

    public Generated generate(GenerateRequest request) {
        List<Integer> prompt = new ArrayList<>();
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        try {
            Iterator<GenerateResponse> it = stub().generate(request);
            while (it.hasNext()) {
                GenerateResponse r = it.next();
                if (r.getPromptTokenIdsCount() > 0) prompt.addAll(r.getPromptTokenIdsList());
                ids.addAll(r.getTokenIdsList());
                text.append(r.getTextDelta());
            }
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
        return new Generated(prompt.stream().mapToInt(Integer::intValue).toArray(),
                ids.stream().mapToInt(Integer::intValue).toArray(), text.toString());
    }

    /** A raw blocking stub: no deadline of its own (the current call's applies), errors as model-service sends them. */
    public ModelServiceGrpc.ModelServiceBlockingStub blocking() {
        return ModelServiceGrpc.newBlockingStub(channel).withMaxInboundMessageSize(MAX_INBOUND_BYTES);
    }

    /** A raw asynchronous stub (streaming Generate with flow control); as {@link #blocking()}. */
    public ModelServiceGrpc.ModelServiceStub async() {
        return ModelServiceGrpc.newStub(channel).withMaxInboundMessageSize(MAX_INBOUND_BYTES);
    }
}
