package steering.sae.features;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.sae.core.Sae;
import steering.sae.core.SingleFeature;
import steering.sae.encode.ResponseSize;
import steering.v1.FeatureDirectionsRequest;
import steering.v1.FeatureDirectionsResponse;

/** FeatureDirections: rows of W_dec with their norms and, if asked, each feature as SAE_FEATURE interventions take it. */
public final class DecoderDirections {
    private DecoderDirections() {}

    /** each SaeFeature carries three [d_in] rows: a request names the few features it steers */
    static final int MAX_SAE_FEATURES = 64;

    public static FeatureDirectionsResponse of(FeatureDirectionsRequest request, String saeId, Sae sae) {
        int[] features = FeatureIndices.parse(request.getFeaturesList(), sae.dSae(), "features");
        if (ResponseSize.exceeded(features.length, sae.dIn())) {
            throw Errors.invalid("features", features.length + " directions of width " + sae.dIn() + " exceed "
                    + ResponseSize.limit() + "; list the features you need");
        }
        float[] dirs = sae.directions(features, request.getNormalize());
        float[] norms = sae.decoderNorms();
        FeatureDirectionsResponse.Builder b = FeatureDirectionsResponse.newBuilder()
                .setDirections(TensorCodec.ofFloats(dirs, features.length, sae.dIn()));
        for (int f : features) b.addFeatures(f).addNorms(norms[f]);
        if (request.getSaeFeatures()) {
            if (features.length > MAX_SAE_FEATURES) {
                throw Errors.invalid("features", features.length + " features with sae_features is over the limit of "
                        + MAX_SAE_FEATURES + "; list the features to steer");
            }
            try {
                for (int f : features) b.addSaeFeatures(SingleFeature.of(saeId, sae, f));
            } catch (IllegalArgumentException e) {
                throw Errors.invalid("sae_features", e.getMessage());
            }
        }
        return b.build();
    }
}
