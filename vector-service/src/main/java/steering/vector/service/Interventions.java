package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.steer.Magnitude;
import steering.v1.Intervention;
import steering.v1.PositionPolicy;
import steering.v1.Prompt;
import steering.v1.SteeringVector;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.methods.Caa;

/** Turns a stored vector into the Intervention model-service applies. */
public final class Interventions {
    private Interventions() {}

    /** The vector added at an absolute {@code scale} (what calibration sweeps, ADD vectors only). */
    public static Intervention of(SteeringVector v, double scale, int fromIndex) {
        return placed(v, fromIndex).setVector(v.getVector()).setScale(scale).build();
    }

    /**
     * GetVector's answer: the stored vector with the intervention to apply it, its tensor sent once. An intervention
     * that carries the tensor (every kind but SAE_FEATURE) is where it travels, and {@code vector} is left unset;
     * an SAE_FEATURE intervention carries the SAE's tensors instead, so {@code vector} keeps the direction.
     */
    public static SteeringVector withIntervention(SteeringVector v, Intervention iv) {
        SteeringVector.Builder out = v.toBuilder().setIntervention(iv);
        if (iv.hasVector()) out.clearVector();
        return out.build();
    }

    /** The vector's hook and positions. */
    private static Intervention.Builder placed(SteeringVector v, int fromIndex) {
        PositionPolicy positions = v.getPositions() == PositionPolicy.POSITION_POLICY_UNSPECIFIED ? PositionPolicy.ALL : v.getPositions();
        Intervention.Builder b = Intervention.newBuilder().setHook(v.getHook()).setPositions(positions);
        if (positions == PositionPolicy.FROM_INDEX) b.setFromIndex(fromIndex);
        return b;
    }

    /**
     * The intervention of a stored vector at {@code strength} (Magnitude: ADD's scale is strength x default_scale,
     * the value kinds' value strength x value; ABLATE takes strength 1 only). SAE_FEATURE vectors get their
     * feature's SAE tensors from sae-service (its refusal names {@code saeField}).
     */
    public static Intervention of(SteeringVector v, double strength, int fromIndex, SaeClient sae, String saeField) {
        Intervention.Builder b = placed(v, fromIndex).setKind(v.getKind());
        switch (v.getKind()) {
            case ADD -> b.setVector(v.getVector()).setScale(v.getDefaultScale());
            case SAE_FEATURE -> b.setValue(v.getValue()).setSaeFeature(
                    sae.saeFeature(v.getSaeId(), v.getFeatures(0).getFeature(), saeField));
            default -> {
                b.setVector(v.getVector());
                if (v.hasValue()) b.setValue(v.getValue());
            }
        }
        Intervention iv = Magnitude.times(b.build(), strength, "strength");
        if (iv == null) throw Errors.invalid("strength", "0 does not apply to ABLATE, which has no magnitude; ask for strength 1");
        return iv;
    }

    /**
     * The FROM_INDEX position for a prompt: the last token of the last occurrence of the vector's marker (CAA's
     * instruction end); 0 (every position) when the marker does not occur, as CAA does; for a chat prompt, its last
     * token (the instruction has ended where the answer starts); the stored from_index when there is no marker.
     */
    public static int fromIndex(SteeringVector v, Prompt prompt, ModelClient model) {
        return fromIndex(v, prompt, null, model);
    }

    /**
     * {@link #fromIndex(SteeringVector, Prompt, ModelClient)} for a caller that has tokenized the prompt already
     * ({@code ids}, null: not): a prompt that ends with the marker, or a chat, is not tokenized again.
     */
    public static int fromIndex(SteeringVector v, Prompt prompt, int[] ids, ModelClient model) {
        if (v.getPositions() != PositionPolicy.FROM_INDEX) return 0;
        String marker = v.getPositionMarker();
        if (marker.isEmpty() || prompt == null) return v.getFromIndex();
        return switch (prompt.getKindCase()) {
            case TEXT -> {
                int end = Caa.markerEnd(prompt.getText(), marker);
                if (end < 0) yield 0;
                if (end == prompt.getText().length() && ids != null) yield Math.max(0, ids.length - 1);
                Prompt prefix = prompt.toBuilder().setText(prompt.getText().substring(0, end)).build();
                yield Math.max(0, model.tokenize(prefix).getIdsCount() - 1);
            }
            case CHAT -> Math.max(0, (ids != null ? ids.length : model.tokenize(prompt).getIdsCount()) - 1);
            default -> 0;
        };
    }
}
