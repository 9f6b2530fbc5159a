package steering.common.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The mesh's client of sae-service: SAE facts, decoder directions, encoding, feature statistics (vector-service's
 * SAE recipes), plus a raw stub for the gateway's playground and {@code steer sae}.
 */
public class SaeClient extends ServiceClient {
    /** Texts per Encode request (sae-service accepts at most 64). */
    static final int ENCODE_BATCH = 64;

    public record Directions(float[] rows, int count, int d, float[] norms) {}

    public record Stats(float[] density, List<Integer> bosFeatures, long tokens) {}

    /** @param channels plaintext ({@link ChannelFactory#plaintext()}) or TLS */
    public SaeClient(String address, ChannelFactory channels, long deadlineSeconds) {
        super("sae-service", address, channels, deadlineSeconds);
    }

    private SaeServiceGrpc.SaeServiceBlockingStub stub() {
        return blocking().withDeadline(deadline());
    }

    /** A raw blocking stub: no deadline of its own (the current call's applies), errors as sae-service sends them. */
    public SaeServiceGrpc.SaeServiceBlockingStub blocking() {
        return SaeServiceGrpc.newBlockingStub(channel).withMaxInboundMessageSize(MAX_INBOUND_BYTES);
    }

    /** The SAE's facts; an unknown SAE is INVALID_ARGUMENT naming {@code field} (it is a reference in a request). */
    public SaeInfo info(String saeId, String field) {
        if (saeId == null || saeId.isEmpty()) throw Errors.invalid(field, "an SAE id of sae-service is required");
        try {
            return stub().getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId(saeId).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND || e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) {
                throw Errors.invalid(field, "unknown SAE '" + saeId + "' (sae-service at " + address + ": " + e.getStatus().getDescription() + ")");
            }
            throw wrap(e);
        }
    }

    /** Rows of W_dec for the features, in order. */
    public Directions directions(String saeId, int[] features, boolean normalize) {
        FeatureDirectionsRequest.Builder b = FeatureDirectionsRequest.newBuilder().setSaeId(saeId).setNormalize(normalize);
        for (int f : features) b.addFeatures(f);
        try {
            FeatureDirectionsResponse r = stub().featureDirections(b.build());
            float[] rows = TensorCodec.toFloats(r.getDirections());
            float[] norms = new float[r.getNormsCount()];
            for (int i = 0; i < norms.length; i++) norms[i] = r.getNorms(i);
            int count = (int) r.getDirections().getShape(0);
            return new Directions(rows, count, (int) r.getDirections().getShape(1), norms);
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
    }

    /** One feature as SAE_FEATURE interventions take it (its encoder side too); sae-service's refusal names {@code field}. */
    public SaeFeature saeFeature(String saeId, int feature, String field) {
        try {
            FeatureDirectionsResponse r = stub().featureDirections(FeatureDirectionsRequest.newBuilder().setSaeId(saeId)
                    .addFeatures(feature).setSaeFeatures(true).build());
            return r.getSaeFeatures(0);
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.INVALID_ARGUMENT) {
                throw Errors.invalid(field, "sae-service refused feature " + feature + " of SAE '" + saeId + "': " + e.getStatus().getDescription());
            }
            throw wrap(e);
        }
    }

    /** The mean feature activations of each prompt over its tokens (BOS dropped unless includeBos), in order. */
    public List<float[]> encodeMean(String saeId, List<Prompt> prompts, boolean includeBos) {
        return encodeMean(saeId, prompts, includeBos, null);
    }

    /** The mean SAE features of each prompt; sae-service's refusal of prompt i names our caller's {@code inputField.apply(i)}. */
    public List<float[]> encodeMean(String saeId, List<Prompt> prompts, boolean includeBos, IntFunction<String> inputField) {
        List<float[]> out = new ArrayList<>(prompts.size());
        for (int from = 0; from < prompts.size(); from += ENCODE_BATCH) {
            List<Prompt> part = prompts.subList(from, Math.min(prompts.size(), from + ENCODE_BATCH));
            EncodeRequest req = EncodeRequest.newBuilder().setSaeId(saeId)
                    .setReduction(FeatureReduction.FEATURE_REDUCTION_MEAN)
                    .setInput(SaeInput.newBuilder().setTexts(TextInputs.newBuilder().addAllPrompts(part).setIncludeBos(includeBos)))
                    .build();
            EncodeResponse r;
            try {
                r = stub().encode(req);
            } catch (StatusRuntimeException e) {
                throw wrap(e, numbered("input.texts.prompts", from, inputField));
            }
            float[] f = TensorCodec.toFloats(r.getFeatures());
            int rows = r.getRows();
            if (rows != part.size()) throw Errors.unavailable("sae-service returned " + rows + " rows for " + part.size() + " texts");
            int m = f.length / rows;
            for (int i = 0; i < rows; i++) {
                float[] row = new float[m];
                System.arraycopy(f, i * m, row, 0, m);
                out.add(row);
            }
        }
        return out;
    }

    /** Per-feature density and the BOS features (FAILED_PRECONDITION when the SAE has no statistics). */
    public Stats stats(String saeId) {
        try {
            FeatureStatsResponse r = stub().featureStats(FeatureStatsRequest.newBuilder().setSaeId(saeId).build());
            return new Stats(TensorCodec.toFloats(r.getDensity()), r.getBosFeaturesList(), r.getTokens());
        } catch (StatusRuntimeException e) {
            throw wrap(e);
        }
    }
}
