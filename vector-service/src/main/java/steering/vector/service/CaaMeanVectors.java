package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.vector.methods.Caa;
import steering.vector.methods.Vec;

import java.util.List;

/** CAA as the SAE-TS/FGAA papers' baseline: token-mean of positive minus negative sentences, unit norm, ALL. */
record CaaMeanVectors(RecipeInputs in) {
    SteeringVector.Builder build(CaaMeanRecipe r, ModelInfo info) {
        String hook = in.model().checkHook(r.getHook(), "caa_mean.hook.name");
        List<Prompt> pos = RecipeInputs.texts(r.getPositiveList(), "caa_mean.positive");
        List<Prompt> neg = RecipeInputs.texts(r.getNegativeList(), "caa_mean.negative");
        boolean includeBos = !r.hasIncludeBos() || r.getIncludeBos();
        boolean normalize = !r.hasNormalize() || r.getNormalize();
        List<float[]> mp = in.model().captureMean(pos, hook, !includeBos, i -> "caa_mean.positive[" + i + "]");
        List<float[]> mn = in.model().captureMean(neg, hook, !includeBos, i -> "caa_mean.negative[" + i + "]");
        float[] vec;
        try {
            vec = Caa.meanOfMeans(mp, mn, normalize);
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("caa_mean.positive", "the positive and negative sentences have the same mean activation; the difference is zero");
        }
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_CAA_MEAN)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(vec, info.getDModel()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addSources("texts:" + pos.size() + " positive, " + neg.size() + " negative")
                .putMetadata("include_bos", Boolean.toString(includeBos))
                .putMetadata("normalized", Boolean.toString(normalize))
                .putMetadata("difference_norm", Double.toString(Vec.norm(Vec.sub(Vec.mean(mp), Vec.mean(mn)))));
    }
}
