package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

/** A vector given as a tensor. */
record RawVectors(RecipeInputs in) {
    SteeringVector.Builder build(RawVectorRecipe r, ModelInfo info) {
        String hook = in.model().checkHook(r.getHook(), "raw.hook.name");
        if (!r.hasVector()) throw Errors.invalid("raw.vector", "a FLOAT32/FLOAT16/BFLOAT16 tensor of shape [" + info.getDModel() + "] is required");
        PositionPolicy policy = r.getPositions() == PositionPolicy.POSITION_POLICY_UNSPECIFIED ? PositionPolicy.ALL : r.getPositions();
        if (policy == PositionPolicy.UNRECOGNIZED) throw Errors.invalid("raw.positions", "unknown policy");
        float[] data;
        try {
            data = TensorCodec.toFloats(r.getVector());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw Errors.invalid("raw.vector", e.getMessage());
        }
        long[] shape = RecipeInputs.checkShape(r.getVector().getShapeList(), data, info, policy, "raw.vector");
        if (r.getFromIndex() < 0 || r.getFromIndex() >= Math.max(1, info.getContextLength())) {
            throw Errors.invalid("raw.from_index", r.getFromIndex() + " is outside [0, " + (info.getContextLength() - 1) + "]");
        }
        double scale = r.hasDefaultScale() ? r.getDefaultScale() : 1.0;
        RecipeInputs.checkFinite(scale, "raw.default_scale", 1e6);
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_IMPORTED)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(data, shape))
                .setPositions(policy)
                .setFromIndex(r.getFromIndex())
                .setPositionMarker(r.getPositionMarker())
                .setDefaultScale(scale)
                .addSources("tensor:inline");
    }
}
