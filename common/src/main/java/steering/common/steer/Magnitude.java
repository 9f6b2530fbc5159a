package steering.common.steer;

import steering.common.grpc.Errors;
import steering.v1.Intervention;
import steering.v1.InterventionKind;

/**
 * What a scale, a strength or a swept value means for each kind of intervention, the same in the gateway
 * (SteeringSpec.scale / strength, Evaluate's scales) and vector-service (GetVector's strength):
 * <ul>
 *   <li>ADD: the scale (default 1.0);</li>
 *   <li>CLAMP, CAP_AT_MOST, CAP_AT_LEAST, SAE_FEATURE: the target value;</li>
 *   <li>ABLATE has no magnitude: 0 turns it off (null: the caller leaves it out), 1 keeps it, anything else is
 *       refused.</li>
 * </ul>
 */
public final class Magnitude {
    private Magnitude() {}

    /** The intervention with its magnitude set to {@code m}, null for an ABLATE turned off; errors name {@code field}. */
    public static Intervention set(Intervention iv, double m, String field) {
        checkFinite(m, field);
        return switch (iv.getKind()) {
            case ADD -> iv.toBuilder().setScale(m).build();
            case ABLATE -> ablation(iv, m, field);
            default -> iv.toBuilder().setValue(m).build();
        };
    }

    /** The intervention with its magnitude multiplied by {@code k} (a strength), null for an ABLATE turned off. */
    public static Intervention times(Intervention iv, double k, String field) {
        checkFinite(k, field);
        return switch (iv.getKind()) {
            case ADD -> iv.toBuilder().setScale((iv.hasScale() ? iv.getScale() : 1.0) * k).build();
            case ABLATE -> ablation(iv, k, field);
            default -> iv.toBuilder().setValue(iv.getValue() * k).build();
        };
    }

    /** Whether the kind's magnitude is its value (the kinds a sweep sweeps by value). */
    public static boolean isValueKind(InterventionKind kind) {
        return kind != InterventionKind.ADD && kind != InterventionKind.ABLATE;
    }

    private static Intervention ablation(Intervention iv, double m, String field) {
        if (m == 1) return iv;
        if (m == 0) return null;
        throw Errors.invalid(field, m + " does not apply to ABLATE, which has no magnitude: 0 turns it off, 1 applies it");
    }

    private static void checkFinite(double m, String field) {
        if (!Double.isFinite(m)) throw Errors.invalid(field, m + " is not finite");
    }
}
