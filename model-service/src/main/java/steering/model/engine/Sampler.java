package steering.model.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from logits: greedy when temperature is 0, else temperature, top-k and top-p sampling. */
public final class Sampler {
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom random;

    public Sampler(float temperature, int topK, float topP, long seed) {
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public int next(float[] logits, int offset, int vocab) {
        if (temperature <= 0f) return argmax(logits, offset, vocab);
        Integer[] order = null;
        int candidates = vocab;
        if (topK > 0 && topK < vocab) candidates = topK;
        // sort candidate ids by logit (descending); only the top ones matter for top-k / top-p
        order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) order[i] = i;
        final float[] l = logits;
        Arrays.sort(order, (a, b) -> Float.compare(l[offset + b], l[offset + a]));
        double max = logits[offset + order[0]];
        double[] p = new double[candidates];
        double sum = 0;
        for (int i = 0; i < candidates; i++) {
            p[i] = Math.exp((logits[offset + order[i]] - max) / temperature);
            sum += p[i];
        }
        int keep = candidates;
        if (topP > 0f && topP < 1f) {
            double cumulative = 0;
            for (int i = 0; i < candidates; i++) {
                cumulative += p[i] / sum;
                if (cumulative >= topP) {
                    keep = i + 1;
                    break;
                }
            }
            sum = 0;
            for (int i = 0; i < keep; i++) sum += p[i];
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u <= 0) return order[i];
        }
        return order[keep - 1];
    }

    public static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        float bestValue = logits[offset];
        for (int i = 1; i < vocab; i++) {
            if (logits[offset + i] > bestValue) {
                bestValue = logits[offset + i];
                best = i;
            }
        }
        return best;
    }
}
