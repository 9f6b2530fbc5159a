package steering.model.runtime;

import steering.common.steer.HookPoint;

/**
 * A write hook at {@code hook}, for the positions the policy selects. With u the unit direction (or the orthonormal
 * rows U for ABLATE) and h the residual there:
 * <ul>
 *   <li>ADD: h + scale * row(t) (row i at position i for PROMPT_FRONT, else the one row);</li>
 *   <li>ABLATE: h - U^T (U h): the span of the directions projected out (Arditi et al. 2024);</li>
 *   <li>CLAMP: h + (value - h.u) u: the projection set to value;</li>
 *   <li>CAP_AT_MOST / CAP_AT_LEAST: the projection limited to at most / at least value;</li>
 *   <li>SAE_FEATURE: with f = act(e.h + b) one SAE feature's activation, h + (value - f) d.</li>
 * </ul>
 * At one site the ADDs of a batch apply first, packed together; the other kinds then apply in request order, each to
 * the residual the previous one left.
 *
 * @param vector row-major [rows, d_model]: ADD's rows (rows is 1 except for PROMPT_FRONT), ABLATE's orthonormal
 *               directions, CLAMP's and CAP's unit direction, SAE_FEATURE's decoder row d
 * @param value  the target projection of CLAMP and CAP, the target activation of SAE_FEATURE (unused otherwise)
 * @param sae    SAE_FEATURE's encoder side (null for the other kinds)
 */
public record Intervention(HookPoint hook, float[] vector, int rows, float scale, Policy policy, int fromIndex,
                           Kind kind, float value, SaeFeature sae) {

    /** BEFORE_INDEX: every position < fromIndex (PROMPT_ONLY is BEFORE_INDEX at the prompt's length). */
    public enum Policy { ALL, PROMPT_FRONT, FROM_INDEX, BEFORE_INDEX }

    public enum Kind { ADD, ABLATE, CLAMP, CAP_AT_MOST, CAP_AT_LEAST, SAE_FEATURE }

    /**
     * One SAE feature's activation as an affine map of the residual and an activation function:
     * f = ReLU(encoder.h + bias), times 1[encoder.h + bias > threshold] when the threshold is finite (JumpReLU).
     * The SAE's b_dec is already folded into bias (e.(h - b_dec) + b_e = e.h + (b_e - e.b_dec)).
     */
    public record SaeFeature(float[] encoder, float bias, float threshold) {
        public boolean jumpRelu() {
            return Float.isFinite(threshold);
        }
    }

    /** An ADD (what every intervention was before the other kinds). */
    public Intervention(HookPoint hook, float[] vector, int rows, float scale, Policy policy, int fromIndex) {
        this(hook, vector, rows, scale, policy, fromIndex, Kind.ADD, 0f);
    }

    /** Any kind but SAE_FEATURE. */
    public Intervention(HookPoint hook, float[] vector, int rows, float scale, Policy policy, int fromIndex,
                        Kind kind, float value) {
        this(hook, vector, rows, scale, policy, fromIndex, kind, value, null);
    }

    /**
     * An ABLATE, CLAMP or CAP on {@code directions} (row-major [k, d]; CLAMP and CAP take one): the rows are
     * orthonormalized here (Gram-Schmidt in double precision).
     *
     * @throws IllegalArgumentException for a zero direction, directions that are linearly dependent, several
     *                                  directions for CLAMP or CAP, or a value that is not finite
     */
    public static Intervention projection(Kind kind, HookPoint hook, float[] directions, int k, float value,
                                          Policy policy, int fromIndex) {
        if (kind == Kind.ADD) throw new IllegalArgumentException("ADD is not a projection");
        if (kind != Kind.ABLATE && k != 1) {
            throw new IllegalArgumentException(kind + " takes one direction, got " + k);
        }
        if (!Float.isFinite(value)) throw new IllegalArgumentException("value " + value + " is not finite");
        if (policy == Policy.PROMPT_FRONT) {
            throw new IllegalArgumentException(kind + " does not take PROMPT_FRONT (its rows are directions)");
        }
        return new Intervention(hook, orthonormal(directions, k), k, 1f, policy, fromIndex, kind, value);
    }

    /**
     * SAE_FEATURE: the feature with encoder column {@code encoder}, bias b_e, decoder row {@code decoder} and the
     * SAE's input bias {@code inputBias} (null: zero) set to {@code value}; {@code threshold} NaN for ReLU.
     *
     * @throws IllegalArgumentException for a zero encoder or decoder, rows of different lengths, a value or bias
     *                                  that is not finite, or PROMPT_FRONT
     */
    public static Intervention saeFeature(HookPoint hook, float[] encoder, double encoderBias, float[] decoder,
                                          float[] inputBias, double threshold, float value, Policy policy, int fromIndex) {
        int d = encoder.length;
        if (decoder.length != d || (inputBias != null && inputBias.length != d)) {
            throw new IllegalArgumentException("encoder, decoder and input bias must have the same length");
        }
        if (!Float.isFinite(value)) throw new IllegalArgumentException("value " + value + " is not finite");
        if (!Double.isFinite(encoderBias)) throw new IllegalArgumentException("encoder bias " + encoderBias + " is not finite");
        if (policy == Policy.PROMPT_FRONT) throw new IllegalArgumentException("SAE_FEATURE does not take PROMPT_FRONT");
        if (isZero(encoder)) throw new IllegalArgumentException("the encoder row is zero");
        if (isZero(decoder)) throw new IllegalArgumentException("the decoder row is zero");
        double bias = encoderBias;
        if (inputBias != null) {
            for (int j = 0; j < d; j++) bias -= (double) encoder[j] * inputBias[j];
        }
        float t = Double.isNaN(threshold) ? Float.NaN : (float) threshold;
        return new Intervention(hook, decoder.clone(), 1, 1f, policy, fromIndex, Kind.SAE_FEATURE, value,
                new SaeFeature(encoder.clone(), (float) bias, t));
    }

    private static boolean isZero(float[] v) {
        for (float x : v) if (x != 0f) return false;
        return true;
    }

    /** The row to add at absolute position {@code pos}, or -1 when this intervention leaves that position alone. */
    public int rowFor(int pos) {
        return switch (policy) {
            case ALL -> 0;
            case FROM_INDEX -> pos >= fromIndex ? 0 : -1;
            case BEFORE_INDEX -> pos < fromIndex ? 0 : -1;
            case PROMPT_FRONT -> pos < rows ? pos : -1;
        };
    }

    private static float[] orthonormal(float[] rows, int k) {
        if (k < 1 || rows.length % k != 0) throw new IllegalArgumentException("directions must be [k, d] with k >= 1");
        int d = rows.length / k;
        double[][] basis = new double[k][];
        float[] out = new float[rows.length];
        for (int i = 0; i < k; i++) {
            double[] v = new double[d];
            double original = 0;
            for (int j = 0; j < d; j++) {
                v[j] = rows[i * d + j];
                original += v[j] * v[j];
            }
            if (original == 0) throw new IllegalArgumentException("direction " + i + " is zero");
            for (int p = 0; p < i; p++) {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += v[j] * basis[p][j];
                for (int j = 0; j < d; j++) v[j] -= dot * basis[p][j];
            }
            double norm = 0;
            for (int j = 0; j < d; j++) norm += v[j] * v[j];
            if (norm <= 1e-10 * original) {
                throw new IllegalArgumentException("direction " + i + " lies in the span of the ones before it");
            }
            double inv = 1 / Math.sqrt(norm);
            for (int j = 0; j < d; j++) {
                v[j] *= inv;
                out[i * d + j] = (float) v[j];
            }
            basis[i] = v;
        }
        return out;
    }
}
