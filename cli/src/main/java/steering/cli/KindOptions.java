package steering.cli;

import picocli.CommandLine.Option;
import steering.v1.BuildVectorRequest;
import steering.v1.Intervention;
import steering.v1.InterventionKind;
import steering.v1.PositionPolicy;

/** How a vector is applied: its kind (add, ablate, clamp, caps, sae-feature), the kind's value, the positions. */
class KindOptions {
    @Option(names = "--kind", defaultValue = "add",
            description = "add, ablate, clamp, cap-at-most, cap-at-least or sae-feature (default: ${DEFAULT-VALUE})")
    String kind;
    @Option(names = "--value", description = "clamp / cap: the target projection on the unit direction; sae-feature: the feature's target activation")
    Double value;
    @Option(names = "--positions", description = "all, from-index, prompt-only or generated-only") String positions;

    InterventionKind kind() {
        try {
            return InterventionKind.valueOf(kind.toUpperCase().replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--kind " + kind + ": use add, ablate, clamp, cap-at-most, cap-at-least or sae-feature");
        }
    }

    boolean valueKind() {
        return kind() != InterventionKind.ADD && kind() != InterventionKind.ABLATE;
    }

    PositionPolicy positions() {
        try {
            return PositionPolicy.valueOf(positions.toUpperCase().replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--positions " + positions + ": use all, from-index, prompt-only or generated-only");
        }
    }

    /** A vector built with these defaults (vector-service stores them). */
    void apply(BuildVectorRequest.Builder b) {
        b.setKind(kind());
        if (value != null) b.setValue(value);
        if (positions != null) b.setPositions(positions());
    }

    /** An ADD intervention turned into this kind: the scale gives way to the value (model-service refuses both). */
    Intervention apply(Intervention iv) {
        Intervention.Builder b = iv.toBuilder().setKind(kind());
        if (kind() != InterventionKind.ADD) b.clearScale();
        if (value != null) b.setValue(value);
        if (positions != null) b.setPositions(positions());
        return b.build();
    }
}
