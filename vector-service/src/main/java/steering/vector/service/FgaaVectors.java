package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.SaeClient;
import steering.vector.methods.Fgaa;
import steering.vector.methods.SaeTs;
import steering.vector.methods.Vec;
import steering.vector.registry.ApproximatorRegistry;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** FGAA (Soo et al. 2025): a filtered SAE-space contrast mapped through the effect approximator, ALL. */
record FgaaVectors(RecipeInputs in) {
    SteeringVector.Builder build(FgaaRecipe r, ModelInfo info) throws IOException {
        EffectApproximatorInfo a = in.checkedApproximator(r.getApproximatorId(), "fgaa.approximator_id", info);
        String saeId = r.getSaeId().isEmpty() ? a.getSaeId() : r.getSaeId();
        if (!saeId.equals(a.getSaeId())) {
            throw Errors.invalid("fgaa.sae_id", "'" + saeId + "' differs from the approximator's SAE '" + a.getSaeId()
                    + "'; FGAA's target must live in the space the approximator maps from");
        }
        SaeInfo s = in.checkedSae(saeId, "fgaa.sae_id", info);
        if (s.getDSae() != a.getDSae()) {
            throw Errors.invalid("fgaa.sae_id", "SAE '" + saeId + "' now has d_sae " + s.getDSae() + ", the approximator was trained for " + a.getDSae());
        }
        List<Prompt> pos = RecipeInputs.texts(r.getPositiveList(), "fgaa.positive");
        List<Prompt> neg = RecipeInputs.texts(r.getNegativeList(), "fgaa.negative");
        double maxDensity = r.hasMaxDensity() ? r.getMaxDensity() : 0.01;
        if (!(maxDensity > 0 && maxDensity <= 1)) throw Errors.invalid("fgaa.max_density", maxDensity + " is outside (0, 1]");
        int m = s.getDSae();
        int nPos = r.hasNPos() ? r.getNPos() : 10;
        int nNeg = r.hasNNeg() ? r.getNNeg() : 0;
        if (nPos < 0 || nPos > m) throw Errors.invalid("fgaa.n_pos", nPos + " is outside [0, " + m + "]");
        if (nNeg < 0 || nNeg > m) throw Errors.invalid("fgaa.n_neg", nNeg + " is outside [0, " + m + "]");
        if (nPos + nNeg == 0) throw Errors.invalid("fgaa.n_pos", "n_pos + n_neg = 0: at least one feature must be kept (n_pos, n_neg in [0, " + m + "], sum >= 1)");
        Set<Integer> excluded = new HashSet<>();
        for (int i = 0; i < r.getExcludeFeaturesCount(); i++) {
            int f = r.getExcludeFeatures(i);
            if (f < 0 || f >= m) throw Errors.invalid("fgaa.exclude_features[" + i + "]", f + " is outside [0, " + (m - 1) + "]");
            excluded.add(f);
        }
        boolean removeBos = !r.hasRemoveBosFeatures() || r.getRemoveBosFeatures();
        boolean includeBos = r.hasIncludeBos() && r.getIncludeBos();
        double biasScale = r.hasBiasScale() ? r.getBiasScale() : 1.0;
        RecipeInputs.checkFinite(biasScale, "fgaa.bias_scale", 100);
        SaeClient.Stats stats = in.sae().stats(saeId);
        Set<Integer> bos = removeBos ? new HashSet<>(stats.bosFeatures()) : Set.of();
        float[] meanPos = Vec.mean(in.sae().encodeMean(saeId, pos, includeBos, i -> "fgaa.positive[" + i + "]"));
        float[] meanNeg = Vec.mean(in.sae().encodeMean(saeId, neg, includeBos, i -> "fgaa.negative[" + i + "]"));
        Fgaa.Selection sel = Fgaa.select(meanPos, meanNeg, stats.density(), maxDensity, bos, excluded, nPos, nNeg);
        if (sel.features().length == 0) {
            throw Errors.invalid("fgaa.max_density", "no feature is left after the filters (" + sel.droppedForDensity()
                    + " denser than " + maxDensity + ", " + sel.droppedAsBos() + " BOS features, " + sel.droppedExcluded()
                    + " excluded); raise max_density or give examples that differ more");
        }
        ApproximatorRegistry.Weights w = in.weights(a);
        float[] vec;
        try {
            vec = SaeTs.steer(w.w(), w.b(), w.d(), w.m(), sel.target(), biasScale);
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("fgaa.positive", "the approximator maps the selected features to the zero vector");
        }
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_FGAA)
                .setHook(a.getHook())
                .setVector(TensorCodec.ofFloats(vec, w.d()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .setSaeId(saeId)
                .setApproximatorId(a.getId())
                .addSources("texts:" + pos.size() + " positive, " + neg.size() + " negative")
                .addSources("approximator:" + a.getId()).addSources("sae:" + saeId + " (statistics over " + stats.tokens() + " tokens)")
                .putMetadata("max_density", Double.toString(maxDensity))
                .putMetadata("dropped_for_density", Integer.toString(sel.droppedForDensity()))
                .putMetadata("dropped_bos_features", Integer.toString(sel.droppedAsBos()))
                .putMetadata("dropped_excluded", Integer.toString(sel.droppedExcluded()))
                .putMetadata("diff_norm", Double.toString(Vec.norm(sel.diff())))
                .putMetadata("bias_scale", Double.toString(biasScale))
                .putMetadata("predicted_target_effect", Double.toString(RecipeInputs.predictedEffect(w, vec, sel.features(), sel.weights())));
        for (int i = 0; i < sel.features().length; i++) {
            b.addFeatures(WeightedFeature.newBuilder().setFeature(sel.features()[i]).setWeight(sel.weights()[i]));
        }
        return b;
    }
}
