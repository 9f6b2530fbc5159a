package steering.vector.service;

import steering.v1.Intervention;
import steering.v1.PositionPolicy;
import steering.v1.Prompt;
import steering.v1.SteeringVector;
import steering.vector.mesh.ModelClient;
import steering.vector.methods.Caa;

/** Turns a stored vector into the Intervention model-service applies. */
public final class Interventions {
    private Interventions() {}

    public static Intervention of(SteeringVector v, double scale, int fromIndex) {
        Intervention.Builder b = Intervention.newBuilder().setHook(v.getHook()).setVector(v.getVector()).setScale(scale)
                .setPositions(v.getPositions() == PositionPolicy.POSITION_POLICY_UNSPECIFIED ? PositionPolicy.ALL : v.getPositions());
        if (v.getPositions() == PositionPolicy.FROM_INDEX) b.setFromIndex(fromIndex);
        return b.build();
    }

    /**
     * The FROM_INDEX position for a prompt: the last token of the last occurrence of the vector's marker (CAA's
     * instruction end); 0 (every position) when the marker does not occur, as CAA does; for a chat prompt, its last
     * token (the instruction has ended where the answer starts); the stored from_index when there is no marker.
     */
    public static int fromIndex(SteeringVector v, Prompt prompt, ModelClient model) {
        if (v.getPositions() != PositionPolicy.FROM_INDEX) return 0;
        String marker = v.getPositionMarker();
        if (marker.isEmpty() || prompt == null) return v.getFromIndex();
        return switch (prompt.getKindCase()) {
            case TEXT -> {
                int end = Caa.markerEnd(prompt.getText(), marker);
                if (end < 0) yield 0;
                Prompt prefix = prompt.toBuilder().setText(prompt.getText().substring(0, end)).build();
                yield Math.max(0, model.tokenize(prefix).getIdsCount() - 1);
            }
            case CHAT -> Math.max(0, model.tokenize(prompt).getIdsCount() - 1);
            default -> 0;
        };
    }
}
