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
        if (kind == InterventionKind.SAE_FEATURE && !keep && (r.getRecipeCase() != BuildVectorRequest.RecipeCase.SAE_DECODER
                || r.getSaeDecoder().getFeaturesCount() != 1)) {
            throw Errors.invalid("kind", "SAE_FEATURE names one SAE feature: use an sae_decoder recipe with exactly one feature");
        }
        if (!keep) b.clearValue();
        boolean needsValue = kind != InterventionKind.ADD && kind != InterventionKind.ABLATE;
        if (!keep && r.hasValue()) {
            if (!needsValue) throw Errors.invalid("value", kind + " takes no value (its magnitude is the scale or nothing)");
            if (!Double.isFinite(r.getValue()) || Math.abs(r.getValue()) > 1e6) {
                throw Errors.invalid("value", r.getValue() + " is outside the allowed range [-1e6, 1e6]");
            }
            b.setValue(r.getValue());
        } else if (!keep && needsValue) {
            throw Errors.invalid("value", kind + " needs the target value");
        }
        if (r.hasPositions()) {
            PositionPolicy p = r.getPositions();
            boolean allowed = p == PositionPolicy.ALL || p == PositionPolicy.FROM_INDEX || p == PositionPolicy.PROMPT_ONLY
                    || p == PositionPolicy.GENERATED_ONLY;
            if (!allowed || rows) {
                throw Errors.invalid("positions", rows ? "this recipe's rows apply with PROMPT_FRONT only"
                        : p + " cannot replace the recipe's policy; allowed: ALL, FROM_INDEX, PROMPT_ONLY, GENERATED_ONLY");
            }
            b.setPositions(p);
        }
        return b.build();
    }
}
