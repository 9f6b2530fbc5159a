package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.SaeClient;
import steering.vector.methods.SaeDecoder;
import steering.vector.methods.Vec;

/** SAE decoder steering: a weighted sum of decoder rows, unit norm, ALL. */
record SaeDecoderVectors(RecipeInputs in) {
    SteeringVector.Builder build(SaeDecoderRecipe r, ModelInfo info) {
        SaeInfo s = in.checkedSae(r.getSaeId(), "sae_decoder.sae_id", info);
        RecipeInputs.checkFeatures(r.getFeaturesList(), s.getDSae(), "sae_decoder.features");
        int k = r.getFeaturesCount();
        int[] features = new int[k];
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
            features[i] = r.getFeatures(i).getFeature();
            weights[i] = r.getFeatures(i).getWeight();
        }
        SaeClient.Directions rows = in.sae().directions(s.getId(), features, false);
        float[] vec;
        try {
            vec = SaeDecoder.combine(rows.rows(), weights, s.getDIn(), r.getNormalizeRows());
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("sae_decoder.features", "the weighted decoder rows sum to zero (" + e.getMessage() + ")");
        }
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_SAE_DECODER)
                .setHook(s.getHook())
                .setVector(TensorCodec.ofFloats(vec, s.getDIn()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addAllFeatures(r.getFeaturesList())
                .setSaeId(s.getId())
                .addSources("sae:" + s.getId() + " (" + s.getSource() + ")");
        StringBuilder norms = new StringBuilder();
        for (int i = 0; i < k; i++) norms.append(i > 0 ? "," : "").append(rows.norms()[i]);
        return b.putMetadata("decoder_row_norms", norms.toString());
    }
}
