package steering.vector.service;

import steering.common.grpc.Errors;
import steering.v1.BuildVectorRequest;
import steering.v1.InterventionKind;
import steering.v1.PositionPolicy;
import steering.v1.SteeringVector;

/**
 * A build request's kind, value and position policy (how the vector is applied by default), checked against what
 * the recipe built and stored with the vector.
 */
public final class KindDefaults {
    private KindDefaults() {}

    /**
     * The request's kind, value and positions checked before any build work (StartBuildVector refuses them at
     * once); what depends on the built vector (its rows, an imported file's own kind) waits for {@link #apply}.
     */
    public static void check(BuildVectorRequest r) {
        if (r.getKind() != InterventionKind.ADD || r.hasValue()) {
            InterventionKind kind = r.getKind();
            if (kind == InterventionKind.UNRECOGNIZED) throw Errors.invalid("kind", "unknown kind " + r.getKindValue());
            checkFeature(r, kind);
            value(r, kind);
        }
        if (r.hasPositions()) positions(r, false);
    }

    public static SteeringVector apply(BuildVectorRequest r, SteeringVector v) {
        // a file we exported carries its kind and value; a request that names none keeps them
        boolean keep = r.getKind() == InterventionKind.ADD && !r.hasValue() && v.getKind() != InterventionKind.ADD;
        InterventionKind kind = keep ? v.getKind() : r.getKind();
        if (kind == InterventionKind.UNRECOGNIZED) throw Errors.invalid("kind", "unknown kind " + r.getKindValue());
        boolean rows = v.getVector().getShapeCount() == 2 && v.getVector().getShape(0) > 1;
        SteeringVector.Builder b = v.toBuilder().setKind(kind);
        if (kind != InterventionKind.ADD && rows) {
            throw Errors.invalid("kind", kind + " takes one [d_model] direction, but this recipe builds "
                    + v.getVector().getShape(0) + " rows (PROMPT_FRONT); build it as ADD");
        }
        if (!keep) {
            checkFeature(r, kind);
            b.clearValue();
            Double value = value(r, kind);
            if (value != null) b.setValue(value);
        }
        if (r.hasPositions()) b.setPositions(positions(r, rows));
        return b.build();
    }


    private static void checkFeature(BuildVectorRequest r, InterventionKind kind) {
        if (kind == InterventionKind.SAE_FEATURE && (r.getRecipeCase() != BuildVectorRequest.RecipeCase.SAE_DECODER
                || r.getSaeDecoder().getFeaturesCount() != 1)) {
            throw Errors.invalid("kind", "SAE_FEATURE names one SAE feature: use an sae_decoder recipe with exactly one feature");
        }
    }

    /** The request's value for {@code kind} (null: the kind takes none), refused when missing or out of range. */
    private static Double value(BuildVectorRequest r, InterventionKind kind) {
        boolean needsValue = kind != InterventionKind.ADD && kind != InterventionKind.ABLATE;
        if (r.hasValue()) {
            if (!needsValue) throw Errors.invalid("value", kind + " takes no value (its magnitude is the scale or nothing)");
            if (!Double.isFinite(r.getValue()) || Math.abs(r.getValue()) > 1e6) {
                throw Errors.invalid("value", r.getValue() + " is outside the allowed range [-1e6, 1e6]");
            }
            return r.getValue();
        }
        if (needsValue) throw Errors.invalid("value", kind + " needs the target value");
        return null;
    }

    /** The policy that replaces the recipe's; {@code rows}: the recipe built ActAdd's [n, d], which keeps PROMPT_FRONT. */
    private static PositionPolicy positions(BuildVectorRequest r, boolean rows) {
        PositionPolicy p = r.getPositions();
        boolean allowed = p == PositionPolicy.ALL || p == PositionPolicy.FROM_INDEX || p == PositionPolicy.PROMPT_ONLY
                || p == PositionPolicy.GENERATED_ONLY;
        if (!allowed || rows) {
            throw Errors.invalid("positions", rows ? "this recipe's rows apply with PROMPT_FRONT only"
                    : p + " cannot replace the recipe's policy; allowed: ALL, FROM_INDEX, PROMPT_ONLY, GENERATED_ONLY");
        }
        return p;
    }
}
