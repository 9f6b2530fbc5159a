package steering.model.grpc;

import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Small builders and collectors for wire messages used across the integration tests. */
final class Wire {
    private Wire() {}

    record Generated(List<Integer> tokens, String text, FinishReason finish, Usage usage, List<Integer> promptIds) {}

    static Prompt text(String text) {
        return Prompt.newBuilder().setText(text).build();
    }

    static Prompt tokens(int... ids) {
        TokenIds.Builder b = TokenIds.newBuilder();
        for (int id : ids) b.addIds(id);
        return Prompt.newBuilder().setTokens(b).build();
    }

    static SamplingParams greedy(int maxTokens) {
        return SamplingParams.newBuilder().setMaxTokens(maxTokens).build();
    }

    static Intervention intervention(String hook, float[] vector, double scale, PositionPolicy policy) {
        return Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(vector, vector.length)).setScale(scale).setPositions(policy).build();
    }

    static Generated collect(Iterator<GenerateResponse> stream) {
        List<Integer> tokens = new ArrayList<>();
        List<Integer> promptIds = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        FinishReason finish = FinishReason.FINISH_REASON_UNSPECIFIED;
        Usage usage = null;
        while (stream.hasNext()) {
            GenerateResponse r = stream.next();
            if (r.getPromptTokenIdsCount() > 0) promptIds.addAll(r.getPromptTokenIdsList());
            tokens.addAll(r.getTokenIdsList());
            text.append(r.getTextDelta());
            if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
                finish = r.getFinishReason();
                usage = r.getUsage();
            }
        }
        return new Generated(tokens, text.toString(), finish, usage, promptIds);
    }

    static float[] meanActivation(ModelServiceGrpc.ModelServiceBlockingStub stub, String text, String hook) {
        Iterator<CaptureActivationsResponse> it = stub.captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(text(text)).addHooks(HookPoint.newBuilder().setName(hook))
                .setReduction(Reduction.MEAN)
                .setSelection(PositionSelection.newBuilder().setExcludeBos(true)).build());
        return TensorCodec.toFloats(it.next().getActivations());
    }

    static float[] minus(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] - b[i];
        return out;
    }
}
