package steering.sae.core;

/**
 * An SAE's parameters as float32, row-major, in SAELens orientation.
 *
 * @param wEnc           [d_in, d_sae]
 * @param bEnc           [d_sae]
 * @param wDec           [d_sae, d_in] (row j = feature j's direction)
 * @param bDec           [d_in]
 * @param threshold      [d_sae] for JUMPRELU (and BATCHTOPK saved as JumpReLU), else null
 * @param decodeScale    [d_sae] SAELens' finetuning scaling factor multiplied into the features before decoding, or null
 */
public record SaeWeights(float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[] threshold, float[] decodeScale) {

    /** Checks every array's length against the config; throws IllegalArgumentException naming the tensor. */
    public void validate(SaeConfig cfg) {
        long dIn = cfg.dIn();
        long dSae = cfg.dSae();
        check("W_enc", wEnc, dIn * dSae, "[" + dIn + ", " + dSae + "]");
        check("b_enc", bEnc, dSae, "[" + dSae + "]");
        check("W_dec", wDec, dSae * dIn, "[" + dSae + ", " + dIn + "]");
        check("b_dec", bDec, dIn, "[" + dIn + "]");
        if (threshold != null) check("threshold", threshold, dSae, "[" + dSae + "]");
        if (decodeScale != null) check("scaling_factor", decodeScale, dSae, "[" + dSae + "]");
        if (cfg.architecture() == Architecture.JUMPRELU && threshold == null) {
            throw new IllegalArgumentException("a jumprelu SAE needs a threshold tensor [" + dSae + "]");
        }
        for (float[] a : new float[][]{wEnc, bEnc, wDec, bDec, threshold, decodeScale}) {
            if (a == null) continue;
            for (float v : a) if (!Float.isFinite(v)) throw new IllegalArgumentException("the weights hold a non-finite value");
        }
    }

    private static void check(String name, float[] a, long expected, String shape) {
        if (a == null) throw new IllegalArgumentException("tensor " + name + " is missing");
        if (a.length != expected) {
            throw new IllegalArgumentException("tensor " + name + " has " + a.length + " values, expected shape " + shape);
        }
    }
}
