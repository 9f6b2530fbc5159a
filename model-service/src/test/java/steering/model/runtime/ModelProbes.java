package steering.model.runtime;

import steering.common.steer.HookPoint;

import ai.djl.ndarray.NDManager;
import steering.model.engine.Sampler;
import steering.model.loader.LoadedModel;

import java.util.List;
import java.util.Set;

/** Small probes the reference tests share: greedy decoding with a KV cache, mean residuals, log-softmax pieces. */
final class ModelProbes {
    private ModelProbes() {}

    /** Greedy continuation of {@code steps} tokens, decoded one token at a time through a one-slot KV cache. */
    static int[] greedyDecode(LoadedModel model, NDManager manager, int[] prompt, int steps) {
        try (KvCache cache = new KvCache(manager, model.config(), 1, 64, 2048)) {
            int vocab = model.config().vocabSize();
            float[] logits = model.transformer().forward(List.of(new ForwardStep(prompt, 0, 0, List.of(), prompt.length - 1, Set.of())), cache)
                    .get(0).logits();
            int[] out = new int[steps];
            for (int i = 0; i < steps; i++) {
                out[i] = Sampler.argmax(logits, 0, vocab);
                if (i + 1 < steps) {
                    logits = model.transformer().forward(List.of(ForwardStep.decode(out[i], prompt.length + i, 0, List.of())), cache)
                            .get(0).logits();
                }
            }
            return out;
        }
    }

    /** Mean residual at {@code hook} over the tokens from position {@code from} on. */
    static float[] meanResidual(LoadedModel model, HookPoint hook, int[] ids, int from) {
        float[] rows = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(), ids.length, Set.of(hook))), null)
                .get(0).captured().get(hook);
        int d = model.config().dModel();
        float[] mean = new float[d];
        for (int t = from; t < ids.length; t++) for (int j = 0; j < d; j++) mean[j] += rows[t * d + j] / (ids.length - from);
        return mean;
    }

    static float[] minus(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] - b[i];
        return out;
    }

    static double logSumExp(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float f : x) max = Math.max(max, f);
        double sum = 0;
        for (float f : x) sum += Math.exp(f - max);
        return max + Math.log(sum);
    }
}
