package steering.sae.core;

/**
 * What an SAE computes and what it was made for.
 *
 * @param k                        active features per row (TOPK) or mean per row (BATCHTOPK); 0 otherwise
 * @param applyBDecToInput         subtract b_dec from the input before encoding
 * @param rescaleActsByDecoderNorm TOPK: select on pre * |W_dec row| and divide by it again before decoding
 * @param modelId                  the model the SAE reads ("" when unknown)
 * @param hookName                 TransformerLens hook name ("" when unknown)
 * @param prependBos               inputs started with the tokenizer's BOS in training
 * @param contextSize              tokens per training context (0 when unknown)
 * @param datasetPath              where the training text came from ("" when unknown)
 */
public record SaeConfig(Architecture architecture, int dIn, int dSae, int k, boolean applyBDecToInput,
                        Normalization normalization, boolean rescaleActsByDecoderNorm, String modelId,
                        String hookName, boolean prependBos, int contextSize, String datasetPath) {

    public SaeConfig {
        if (dIn < 1) throw new IllegalArgumentException("d_in must be >= 1, got " + dIn);
        if (dSae < 1) throw new IllegalArgumentException("d_sae must be >= 1, got " + dSae);
        if (architecture.usesK() && (k < 1 || k > dSae)) {
            throw new IllegalArgumentException(architecture.saeLensName() + " needs k in [1, " + dSae + "], got " + k);
        }
        modelId = modelId == null ? "" : modelId;
        hookName = hookName == null ? "" : hookName;
        datasetPath = datasetPath == null ? "" : datasetPath;
    }

    public SaeConfig withModelAndHook(String model, String hook) {
        return new SaeConfig(architecture, dIn, dSae, k, applyBDecToInput, normalization, rescaleActsByDecoderNorm,
                model, hook, prependBos, contextSize, datasetPath);
    }

    public SaeConfig withNormalization(Normalization n) {
        return new SaeConfig(architecture, dIn, dSae, k, applyBDecToInput, n, rescaleActsByDecoderNorm,
                modelId, hookName, prependBos, contextSize, datasetPath);
    }
}
