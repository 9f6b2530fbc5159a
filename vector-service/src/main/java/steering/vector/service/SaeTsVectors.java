package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.vector.methods.SaeTs;
import steering.vector.methods.Vec;
import steering.vector.registry.ApproximatorRegistry;

import java.io.IOException;

/** SAE-TS (Chalnev et al. 2024): a target in SAE space mapped through the effect approximator, ALL. */
record SaeTsVectors(RecipeInputs in) {
    SteeringVector.Builder build(SaeTsRecipe r, ModelInfo info) throws IOException {
        EffectApproximatorInfo a = in.checkedApproximator(r.getApproximatorId(), "sae_ts.approximator_id", info);
        RecipeInputs.checkFeatures(r.getTargetsList(), a.getDSae(), "sae_ts.targets");
        double biasScale = r.hasBiasScale() ? r.getBiasScale() : 1.0;
        RecipeInputs.checkFinite(biasScale, "sae_ts.bias_scale", 100);
        ApproximatorRegistry.Weights w = in.weights(a);
        int k = r.getTargetsCount();
        int[] features = new int[k];
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
            features[i] = r.getTargets(i).getFeature();
            weights[i] = r.getTargets(i).getWeight();
        }
        float[] t = SaeTs.target(w.m(), features, weights);
        float[] vec;
        try {
            vec = SaeTs.steer(w.w(), w.b(), w.d(), w.m(), t, biasScale);
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("sae_ts.targets", "the approximator maps this target to the zero vector (" + e.getMessage() + ")");
        }
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_SAE_TS)
                .setHook(a.getHook())
                .setVector(TensorCodec.ofFloats(vec, w.d()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addAllFeatures(r.getTargetsList())
                .setSaeId(a.getSaeId())
                .setApproximatorId(a.getId())
                .addSources("approximator:" + a.getId()).addSources("sae:" + a.getSaeId())
                .putMetadata("bias_scale", Double.toString(biasScale))
                .putMetadata("predicted_target_effect", Double.toString(RecipeInputs.predictedEffect(w, vec, features, weights)));
    }
}
