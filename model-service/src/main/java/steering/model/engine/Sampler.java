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

    /**
     * Only the head of the distribution is sorted: the tokens within e^-HEAD (1e-4) of the best one. The k largest
     * tokens and the nucleus are prefixes of the sorted order, so when the head holds them (all but very flat
     * distributions) sorting it gives exactly what sorting the whole vocabulary gives; otherwise the whole vocabulary
     * is sorted. (Boxing and a comparator over a 49k vocabulary cost about 20 ms per token.)
     */
    private static final double HEAD = Math.log(1e4);

    public int next(float[] logits, int offset, int vocab) {
        if (temperature <= 0f) return argmax(logits, offset, vocab);
        float max = logits[offset + argmax(logits, offset, vocab)];
        double total = 0;
        for (int i = 0; i < vocab; i++) total += weight(logits[offset + i], max);
        boolean cut = topK > 0 && topK < vocab;
        boolean nucleus = topP > 0f && topP < 1f;
        if (!cut && !nucleus) { // the whole distribution: no order needed
            double u = random.nextDouble() * total;
            for (int i = 0; i < vocab; i++) {
                u -= weight(logits[offset + i], max);
                if (u <= 0) return i;
            }
            return argmax(logits, offset, vocab);
        }
        long[] order = sortedAbove(logits, offset, vocab, max - HEAD * temperature);
        if (cut ? order.length < topK : nucleus && headMass(order, logits, offset, max) < topP * total) {
            order = sortedAbove(logits, offset, vocab, Double.NEGATIVE_INFINITY);
        }
        int candidates = cut ? topK : order.length;
        double[] p = new double[candidates];
        double sum = 0;
        for (int i = 0; i < candidates; i++) {
            p[i] = weight(logits[offset + (int) order[i]], max);
            sum += p[i];
        }
        if (!cut) sum = total; // the nucleus is a share of the whole distribution's mass
        int keep = candidates;
        if (nucleus) {
            double cumulative = 0;
            for (int i = 0; i < candidates; i++) {
                cumulative += p[i] / sum;
                if (cumulative >= topP) {
                    keep = i + 1;
                    break;
                }
            }
        }
        sum = 0;
        for (int i = 0; i < keep; i++) sum += p[i];
        double u = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u <= 0) return (int) order[i];
        }
        return (int) order[keep - 1];
    }

    private double weight(float logit, float max) {
        return Math.exp((logit - max) / temperature);
    }

    private double headMass(long[] order, float[] logits, int offset, float max) {
        double mass = 0;
        for (long key : order) mass += weight(logits[offset + (int) key], max);
        return mass;
    }

    /** Ids of the logits >= cutoff, by logit descending (ties by id), as primitive keys: -logit's bits, then the id. */
    private static long[] sortedAbove(float[] logits, int offset, int vocab, double cutoff) {
        long[] keys = new long[vocab];
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            float v = logits[offset + i];
            if (v >= cutoff) keys[n++] = ((long) sortable(-v) << 32) | i;
        }
        Arrays.sort(keys, 0, n);
        return n == vocab ? keys : Arrays.copyOf(keys, n);
    }

    /** An int whose signed order is the float's order (NaN aside). */
    private static int sortable(float v) {
        int bits = Float.floatToIntBits(v);
        return bits ^ ((bits >> 31) & 0x7fffffff);
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
