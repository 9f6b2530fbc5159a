package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.vector.methods.ActAdd;

import java.util.List;

/** ActAdd (Turner et al. 2023): the per-position difference of a prompt pair, PROMPT_FRONT. */
record ActAddVectors(RecipeInputs in) {
    SteeringVector.Builder build(ActAddRecipe r, ModelInfo info) {
        String hook = in.model().checkHook(r.getHook(), "actadd.hook.name");
        if (r.getPositive().isEmpty()) throw Errors.invalid("actadd.positive", "a non-empty prompt is required");
        double coefficient = r.hasCoefficient() ? r.getCoefficient() : 1.0;
        RecipeInputs.checkFinite(coefficient, "actadd.coefficient", 1e6);
        boolean bos = !r.hasAddBos() || r.getAddBos();
        int pad;
        if (r.hasPadTokenId()) {
            pad = r.getPadTokenId();
            if (pad < 0 || pad >= info.getVocabSize()) {
                throw Errors.invalid("actadd.pad_token_id", pad + " is outside [0, " + (info.getVocabSize() - 1) + "]");
            }
        } else {
            int[] space = in.model().tokenize(" ", false);
            if (space.length == 0) throw Errors.invalid("actadd.pad_token_id", "the model has no token for a space; give pad_token_id");
            pad = space[space.length - 1];
        }
        int[] p = in.model().tokenize(r.getPositive(), bos, "actadd.positive");
        int[] n = in.model().tokenize(r.getNegative(), bos, "actadd.negative");
        ActAdd.Padded padded = ActAdd.pad(p, n, pad);
        int len = padded.length();
        if (len > info.getMaxRequestTokens()) {
            throw Errors.invalid("actadd.positive", "the prompts have " + len + " tokens; the limit is " + info.getMaxRequestTokens());
        }
        List<ModelClient.Captured> caps = in.model().capturePerToken(
                List.of(ModelClient.tokens(padded.positive()), ModelClient.tokens(padded.negative())), hook, false);
        int d = info.getDModel();
        float[] a = ActAdd.difference(caps.get(0).rows(), caps.get(1).rows(), len, d);
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_ACTADD)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(a, len, d))
                .setPositions(PositionPolicy.PROMPT_FRONT)
                .setDefaultScale(coefficient)
                .addSources("text:positive (" + p.length + " tokens)").addSources("text:negative (" + n.length + " tokens)")
                .putMetadata("tokens", Integer.toString(len))
                .putMetadata("pad_token_id", Integer.toString(pad))
                .putMetadata("positive_tokens", Integer.toString(p.length))
                .putMetadata("negative_tokens", Integer.toString(n.length));
    }
}
