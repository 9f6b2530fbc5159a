package steering.sae.model;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * sae-service's client of model-service: model facts, tokenization, activation capture, scoring and generation.
 * Errors of model-service come back as they are, except that an unreachable model-service becomes UNAVAILABLE
 * with its address named.
 */
public class ModelClient implements AutoCloseable {
    /** Activations of one input at one hook: rows [positions.length, d_model]. */
    public record Captured(int[] tokenIds, int[] positions, float[] rows) {}

    private final String address;
    private final ManagedChannel channel;
    private final boolean ownsChannel;
    private final long deadlineSeconds;
    private volatile ModelInfo info;

    /** Plaintext (tests). */
    public ModelClient(String address, long deadlineSeconds) {
        this(address, ChannelFactory.plaintext(), deadlineSeconds);
    }

    /** A channel of its own from {@code channels} (plaintext or TLS, request ids and trace context on every call). */
    public ModelClient(String address, ChannelFactory channels, long deadlineSeconds) {
        this(address, channels.channel("model-service", address, 256 << 20), true, deadlineSeconds);
    }

    public ModelClient(String address, ManagedChannel channel, boolean ownsChannel, long deadlineSeconds) {
        this.address = address;
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.deadlineSeconds = deadlineSeconds;
    }

    public String address() {
        return address;
    }

    private ModelServiceGrpc.ModelServiceBlockingStub stub() {
        return ModelServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS)
                .withMaxInboundMessageSize(256 << 20);
    }

    private RuntimeException wrap(StatusRuntimeException e) {
        Status.Code c = e.getStatus().getCode();
        if (c == Status.Code.UNAVAILABLE || c == Status.Code.DEADLINE_EXCEEDED) {
            return Errors.unavailable("model-service at " + address + ": " + c + " " + e.getStatus().getDescription());
        }
        return e;
    }

    /** The model's facts (cached after the first successful call). */
    public ModelInfo info() {
        ModelInfo i = info;
        if (i != null) return i;
        try {
            i = stub().getModelInfo(GetModelInfoRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
        info = i;
        return i;
    }

    /** INVALID_ARGUMENT naming {@code field} unless the model exposes {@code hook}. */
    public void checkHook(String hook, String field) {
        ModelInfo i = info();
        if (!i.getHookPointsList().contains(hook)) {
            int last = i.getNLayers() - 1;
            throw Errors.invalid(field, "'" + hook + "' is not a hook point of " + i.getModelId()
                    + " (blocks.{0.." + last + "}.hook_resid_pre|hook_resid_mid|hook_resid_post)");
        }
    }

    public TokenizeResponse tokenize(Prompt prompt) {
        try {
            return stub().tokenize(TokenizeRequest.newBuilder().setPrompt(prompt).build());
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
    }

    public int[] tokenize(String text, boolean addBos) {
        TokenizeResponse r = tokenize(Prompt.newBuilder().setText(text).setAddBos(addBos).build());
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

    /** Per-token activations of every prompt at one hook, in input order. */
    public List<Captured> capture(List<Prompt> prompts, String hook, boolean excludeBos) {
        CaptureActivationsRequest req = CaptureActivationsRequest.newBuilder()
                .addAllInputs(prompts)
                .addHooks(steering.v1.HookPoint.newBuilder().setName(hook))
                .setReduction(Reduction.PER_TOKEN)
                .setSelection(PositionSelection.newBuilder().setExcludeBos(excludeBos))
                .build();
        List<Captured> out = new ArrayList<>(prompts.size());
        try {
            Iterator<CaptureActivationsResponse> it = stub().captureActivations(req);
            while (it.hasNext()) {
                CaptureActivationsResponse r = it.next();
                out.add(new Captured(r.getTokenIdsList().stream().mapToInt(Integer::intValue).toArray(),
                        r.getPositionsList().stream().mapToInt(Integer::intValue).toArray(),
                        TensorCodec.toFloats(r.getActivations())));
            }
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
        if (out.size() != prompts.size()) throw Errors.unavailable("model-service returned " + out.size() + " of " + prompts.size() + " captures");
        return out;
    }

    public ScoreResponse score(ScoreRequest request) {
        try {
            return stub().score(request);
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
    }

    /** The completion's text of a sampled generation. */
    public String generate(String prompt, int maxTokens, float temperature, long seed) {
        GenerateRequest req = GenerateRequest.newBuilder()
                .setPrompt(Prompt.newBuilder().setText(prompt))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(temperature).setSeed(seed))
                .build();
        StringBuilder sb = new StringBuilder();
        try {
            Iterator<GenerateResponse> it = stub().generate(req);
            while (it.hasNext()) sb.append(it.next().getTextDelta());
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
        return sb.toString();
    }

    @Override
    public void close() {
        if (!ownsChannel) return;
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
