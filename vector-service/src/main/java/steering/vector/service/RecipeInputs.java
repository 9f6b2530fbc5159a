package steering.vector.service;

import steering.common.steer.VectorShape;

import steering.common.grpc.Errors;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.methods.Vec;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.ArtifactStore;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What every recipe reads from: the clients of model-service and sae-service, the approximators, the datasets, and
 * the checks several recipes share (an SAE or approximator of the served model, features in range, texts, shapes).
 */
record RecipeInputs(ModelClient model, SaeClient sae, ApproximatorRegistry approximators, Datasets datasets) {

    /** The SAE's facts, refused unless it reads the model model-service serves. */
    SaeInfo checkedSae(String saeId, String field, ModelInfo info) {
        SaeInfo s = sae.info(saeId, field);
        if (!s.getModelId().isEmpty() && !s.getModelId().equals(info.getModelId())) {
            throw Errors.invalid(field, "SAE '" + saeId + "' was trained on model " + s.getModelId() + ", but model-service serves "
                    + info.getModelId() + "; a vector must be built for the model it steers");
        }
        if (s.getDIn() != info.getDModel()) {
            throw Errors.invalid(field, "SAE '" + saeId + "' has d_in " + s.getDIn() + ", the model's d_model is " + info.getDModel());
        }
        if (!info.getHookPointsList().contains(s.getHook().getName())) {
            throw Errors.invalid(field, "SAE '" + saeId + "' reads hook '" + s.getHook().getName() + "', which " + info.getModelId() + " does not have");
        }
        return s;
    }

    /** The approximator's facts, refused unless it was trained for the model model-service serves. */
    EffectApproximatorInfo checkedApproximator(String id, String field, ModelInfo info) throws IOException {
        if (id.isEmpty()) throw Errors.invalid(field, "an effect approximator id is required (see StartTrainEffectApproximator)");
        EffectApproximatorInfo a = ArtifactStore.validId(id) ? approximators.info(id) : null;
        if (a == null) throw Errors.invalid(field, "unknown effect approximator '" + id + "'");
        if (!a.getModelId().equals(info.getModelId())) {
            throw Errors.invalid(field, "effect approximator '" + id + "' was trained on model " + a.getModelId()
                    + ", but model-service serves " + info.getModelId());
        }
        return a;
    }

    ApproximatorRegistry.Weights weights(EffectApproximatorInfo a) throws IOException {
        ApproximatorRegistry.Weights w = approximators.weights(a.getId());
        if (w == null) throw Errors.notFound("effect approximator '" + a.getId() + "' was deleted");
        return w;
    }

    static List<Prompt> texts(List<String> list, String field) {
        if (list.isEmpty()) throw Errors.invalid(field, "at least one text is required (allowed: 1 to 1000 non-empty texts)");
        if (list.size() > 1000) throw Errors.invalid(field, list.size() + " texts is outside [1, 1000]");
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).isEmpty()) throw Errors.invalid(field + "[" + i + "]", "is empty");
            out.add(Prompt.newBuilder().setText(list.get(i)).setAddBos(true).build());
        }
        return out;
    }

    static void checkFeatures(List<WeightedFeature> features, int dSae, String field) {
        if (features.isEmpty()) throw Errors.invalid(field, "at least one feature is required (features in [0, " + (dSae - 1) + "])");
        if (features.size() > 10_000) throw Errors.invalid(field, features.size() + " features is outside [1, 10000]");
        boolean nonZero = false;
        for (int i = 0; i < features.size(); i++) {
            WeightedFeature f = features.get(i);
            if (f.getFeature() < 0 || f.getFeature() >= dSae) {
                throw Errors.invalid(field + "[" + i + "].feature", f.getFeature() + " is outside [0, " + (dSae - 1) + "]");
            }
            if (!Double.isFinite(f.getWeight()) || Math.abs(f.getWeight()) > 1e6) {
                throw Errors.invalid(field + "[" + i + "].weight", f.getWeight() + " is outside [-1e6, 1e6]");
            }
            nonZero |= f.getWeight() != 0;
        }
        if (!nonZero) throw Errors.invalid(field, "every weight is 0; at least one must be non-zero");
    }

    static long[] checkShape(List<Long> shape, float[] data, ModelInfo info, PositionPolicy policy, String field) {
        int d = info.getDModel();
        long[] s;
        try {
            int rows = VectorShape.rows(shape, d, "d_model", info.getMaxRequestTokens());
            VectorShape.requireOneRowUnlessPromptFront(shape, rows, policy == PositionPolicy.PROMPT_FRONT, d);
            s = shape.size() == 1 ? new long[]{d} : new long[]{rows, d};
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field, e.getMessage());
        }
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) throw Errors.invalid(field, "element " + i + " is " + data[i] + "; values must be finite");
        }
        if (!(Vec.norm(data) > 0)) throw Errors.invalid(field, "the vector is zero");
        return s;
    }

    /** <t, e(v)> - <t, b>: what the approximator predicts a unit step along v does to the target. */
    static double predictedEffect(ApproximatorRegistry.Weights w, float[] v, int[] features, double[] weights) {
        double s = 0;
        for (int k = 0; k < features.length; k++) {
            double acc = 0;
            for (int i = 0; i < w.d(); i++) acc += v[i] * w.w()[i * w.m() + features[k]];
            s += weights[k] * acc;
        }
        return s;
    }

    static void checkFinite(double v, String field, double limit) {
        if (!Double.isFinite(v) || Math.abs(v) > limit) throw Errors.invalid(field, v + " is outside [-" + limit + ", " + limit + "]");
    }
}
