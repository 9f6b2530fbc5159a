package steering.model.engine;

/**
 * A generated token's log-probability and the most likely alternatives at its step, from the log-softmax of the
 * model's logits (steered when the request steers; before temperature, top-k and top-p, which shape the sampling,
 * not the model's distribution).
 *
 * @param topIds       the k most likely tokens, most likely first (k = the request's top_logprobs, 0..20)
 * @param topLogprobs  their log-probabilities
 */
public record TokenLogprobs(int tokenId, float logprob, int[] topIds, float[] topLogprobs) {
    public static final int MAX_TOP = steering.common.steer.SamplingChecks.MAX_TOP_LOGPROBS;

    /** From the logits row at {@code offset}: the chosen token's log-prob and the top k (k <= MAX_TOP). */
    public static TokenLogprobs of(float[] logits, int offset, int vocab, int token, int k) {
        if (k < 0 || k > MAX_TOP) throw new IllegalArgumentException("top_logprobs " + k + " is outside [0, " + MAX_TOP + "]");
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
        double logZ = max + Math.log(sum);
        int[] ids = new int[k];
        float[] values = new float[k];
        int filled = 0;
        // one pass keeping the k largest in descending order (k <= 20: insertion is cheaper than a heap)
        for (int i = 0; i < vocab; i++) {
            float v = logits[offset + i];
            if (filled == k && (k == 0 || v <= values[k - 1])) continue;
            int j = filled < k ? filled++ : k - 1;
            while (j > 0 && values[j - 1] < v) {
                values[j] = values[j - 1];
                ids[j] = ids[j - 1];
                j--;
            }
            values[j] = v;
            ids[j] = i;
        }
        for (int j = 0; j < k; j++) values[j] = (float) (values[j] - logZ);
        return new TokenLogprobs(token, (float) (logits[offset + token] - logZ), ids, values);
    }
}
