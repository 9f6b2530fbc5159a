package steering.vector.methods;

import java.util.List;

/**
 * Contrastive Activation Addition, both variants.
 *
 * <p>Original (Rimsky et al. 2023, arXiv 2312.06681; {@code nrimsky/CAA generate_vectors.py}): each A/B question is
 * written twice with a prompt template, once ending in the answer that matches the behaviour and once in the one
 * that does not; the block output is read at position -2 (the answer letter of "(A)"); the vector is the mean over
 * items of (a+ - a-), not normalised. It is added at every position from the end of the instruction on, generated
 * tokens included (FROM_INDEX).
 *
 * <p>SAE-TS baseline ({@code SAE-TS/src/sae_ts/baselines/activation_steering.py}): each plain sentence's activations
 * are averaged over all its tokens (BOS included), then over sentences; vector = mean(pos) - mean(neg), unit norm,
 * added at all positions.
 */
public final class Caa {
    public static final String BASE_TEMPLATE = "Input: {question}\nResponse: {answer}";
    public static final String BASE_MARKER = "\nResponse:";
    public static final String CHAT_TEMPLATE = "[INST] {question} [/INST] {answer}";
    public static final String CHAT_MARKER = "[/INST]";

    private Caa() {}

    /** The template with {question} and {answer} (trimmed) filled in. */
    public static String fill(String template, String question, String answer) {
        if (!template.contains("{question}") || !template.contains("{answer}")) {
            throw new IllegalArgumentException("the template must contain {question} and {answer}");
        }
        // fill {answer} first so that a question containing "{answer}" stays as it is
        int a = template.indexOf("{answer}");
        String withAnswer = template.substring(0, a) + answer.strip() + template.substring(a + "{answer}".length());
        int q = withAnswer.indexOf("{question}");
        return withAnswer.substring(0, q) + question + withAnswer.substring(q + "{question}".length());
    }

    /** Mean over pairs of (positive_i - negative_i); the lists hold one [d] vector per item, in item order. */
    public static float[] meanDifference(List<float[]> positive, List<float[]> negative) {
        if (positive.isEmpty()) throw new IllegalArgumentException("no items");
        if (positive.size() != negative.size()) {
            throw new IllegalArgumentException(positive.size() + " positive and " + negative.size() + " negative activations");
        }
        int d = positive.get(0).length;
        double[] acc = new double[d];
        for (int k = 0; k < positive.size(); k++) {
            float[] p = positive.get(k), n = negative.get(k);
            if (p.length != d || n.length != d) throw new IllegalArgumentException("activations of different widths");
            for (int i = 0; i < d; i++) acc[i] += (double) p[i] - n[i];
        }
        float[] out = new float[d];
        for (int i = 0; i < d; i++) out[i] = (float) (acc[i] / positive.size());
        return out;
    }

    /**
     * The SAE-TS baseline: mean of the per-sentence means of the positive sentences minus that of the negative
     * ones, unit-normalised when {@code normalize}.
     */
    public static float[] meanOfMeans(List<float[]> positiveMeans, List<float[]> negativeMeans, boolean normalize) {
        if (positiveMeans.isEmpty() || negativeMeans.isEmpty()) throw new IllegalArgumentException("both sets need a sentence");
        float[] v = Vec.sub(Vec.mean(positiveMeans), Vec.mean(negativeMeans));
        return normalize ? Vec.unit(v) : v;
    }

    /** The character index just past the last occurrence of {@code marker} in {@code text}, or -1. */
    public static int markerEnd(String text, String marker) {
        if (marker == null || marker.isEmpty()) return -1;
        int at = text.lastIndexOf(marker);
        return at < 0 ? -1 : at + marker.length();
    }
}
