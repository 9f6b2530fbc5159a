package steering.vector.mesh;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;

/** vector-service's client of model-service. */
public class ModelClient extends Dependency {
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

    /** Plaintext (tests). */
    public ModelClient(String address, long deadlineSeconds) {
        this(address, ChannelFactory.plaintext(), deadlineSeconds);
    }

    public ModelClient(String address, ChannelFactory channels, long deadlineSeconds) {
        super("model-service", address, channels, deadlineSeconds);
    }

    public ModelClient(String address, ManagedChannel channel, long deadlineSeconds) {
        super("model-service", address, channel, false, deadlineSeconds);
    }

    private ModelServiceGrpc.ModelServiceBlockingStub stub() {
        return ModelServiceGrpc.newBlockingStub(channel).withDeadline(deadline()).withMaxInboundMessageSize(256 << 20);
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

    /** INVALID_ARGUMENT naming {@code field} unless the model exposes {@code hook}; returns the hook. */
    public String checkHook(HookPoint hook, String field) {
        ModelInfo i = info();
        String name = hook.getName();
        if (name.isEmpty()) {
            throw Errors.invalid(field, "a hook point is required, e.g. blocks.0.hook_resid_post (blocks.{0.." + (i.getNLayers() - 1)
                    + "}.hook_resid_pre|hook_resid_mid|hook_resid_post)");
        }
        if (!i.getHookPointsList().contains(name)) {
            throw Errors.invalid(field, "'" + name + "' is not a hook point of " + i.getModelId() + " (blocks.{0.."
                    + (i.getNLayers() - 1) + "}.hook_resid_pre|hook_resid_mid|hook_resid_post)");
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
        List<Captured> out = new ArrayList<>(prompts.size());
        for (int from = 0; from < prompts.size(); from += CAPTURE_BATCH) {
            List<Prompt> part = prompts.subList(from, Math.min(prompts.size(), from + CAPTURE_BATCH));
            CaptureActivationsRequest req = CaptureActivationsRequest.newBuilder()
                    .addAllInputs(part)
                    .addHooks(HookPoint.newBuilder().setName(hook))
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
                StatusRuntimeException ours = inputField == null ? null : Errors.restated(e, numbered("inputs", from, inputField));
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

    public List<Captured> capturePerToken(List<Prompt> prompts, String hook, boolean excludeBos) {
        return capture(prompts, hook, Reduction.PER_TOKEN, PositionSelection.newBuilder().setExcludeBos(excludeBos).build());
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
}
