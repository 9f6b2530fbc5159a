package steering.vector.methods;

import java.util.Arrays;

/**
 * ActAdd (Turner et al. 2023, arXiv 2308.10248; {@code activation_additions/prompt_utils.py}): a prompt pair is
 * tokenized with BOS, the shorter sequence right-padded with the space token to the longer length n, both run
 * through the model, and the steering tensor is the per-position difference of their activations at
 * {@code hook_resid_pre} of a block: A = h+ - h- of shape [n, d] (the coefficient c is applied as the scale, so
 * c*h+ - c*h- = c*A). It is added at prompt positions [0, n) during the prompt pass only (PROMPT_FRONT).
 */
public final class ActAdd {
    private ActAdd() {}

    /** Two token sequences right-padded with {@code pad} to the same length. */
    public record Padded(int[] positive, int[] negative) {
        public int length() {
            return positive.length;
        }
    }

    public static Padded pad(int[] positive, int[] negative, int pad) {
        int n = Math.max(positive.length, negative.length);
        return new Padded(padTo(positive, n, pad), padTo(negative, n, pad));
    }

    static int[] padTo(int[] ids, int n, int pad) {
        int[] out = Arrays.copyOf(ids, n);
        for (int i = ids.length; i < n; i++) out[i] = pad;
        return out;
    }

    /** A = h+ - h-, both row-major [n, d]. */
    public static float[] difference(float[] hPositive, float[] hNegative, int n, int d) {
        if (hPositive.length != n * d || hNegative.length != n * d) {
            throw new IllegalArgumentException("activations must both be [" + n + ", " + d + "]");
        }
        return Vec.sub(hPositive, hNegative);
    }
}
