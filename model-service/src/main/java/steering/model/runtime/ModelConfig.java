package steering.model.runtime;

import java.util.List;

/**
 * Hyperparameters of a loaded decoder model, whatever file format it came from.
 *
 * @param modelId       stable id of the weights (file or directory name), recorded by vectors and SAEs
 * @param architecture  "llama" (Llama 2/3, SmolLM, Mistral), "qwen2", "gemma2" or "gemma3"
 * @param ropeScaling   null, or Llama 3's frequency-dependent scaling
 * @param options       how the block departs from Llama's (Gemma's norms, GeGLU, soft-capping, sliding windows)
 */
public record ModelConfig(
        String modelId,
        String architecture,
        int dModel,
        int nLayers,
        int nHeads,
        int nKvHeads,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        float rmsNormEps,
        float ropeTheta,
        Llama3RopeScaling ropeScaling,
        boolean attentionBias,
        boolean tiedEmbeddings,
        int bosTokenId,
        List<Integer> eosTokenIds,
        String sourceFormat,
        String weightsType,
        DecoderOptions options) {

    /** Llama 3.x "rope_type": "llama3" scaling of the rotary frequencies. */
    public record Llama3RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
                                    int originalMaxPositions) {}

    public ModelConfig {
        if (dModel <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || headDim <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("model dimensions must be positive");
        }
        if (nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("n_heads " + nHeads + " is not a multiple of n_kv_heads " + nKvHeads);
        }
        eosTokenIds = List.copyOf(eosTokenIds);
        if (options == null) options = DecoderOptions.llama();
        if (!options.slidingLayers().isEmpty() && options.slidingLayers().size() != nLayers) {
            throw new IllegalArgumentException("sliding-layer pattern has " + options.slidingLayers().size()
                    + " entries for " + nLayers + " layers");
        }
    }

    /** A Llama-family configuration (the constructor before Gemma support, kept for callers that need no options). */
    public ModelConfig(String modelId, String architecture, int dModel, int nLayers, int nHeads, int nKvHeads,
                       int headDim, int ffnDim, int vocabSize, int contextLength, float rmsNormEps, float ropeTheta,
                       Llama3RopeScaling ropeScaling, boolean attentionBias, boolean tiedEmbeddings, int bosTokenId,
                       List<Integer> eosTokenIds, String sourceFormat, String weightsType) {
        this(modelId, architecture, dModel, nLayers, nHeads, nKvHeads, headDim, ffnDim, vocabSize, contextLength,
                rmsNormEps, ropeTheta, ropeScaling, attentionBias, tiedEmbeddings, bosTokenId, eosTokenIds,
                sourceFormat, weightsType, DecoderOptions.llama());
    }

    /** The same configuration with other end-of-sequence ids. */
    public ModelConfig withEosTokenIds(List<Integer> eos) {
        return new ModelConfig(modelId, architecture, dModel, nLayers, nHeads, nKvHeads, headDim, ffnDim, vocabSize,
                contextLength, rmsNormEps, ropeTheta, ropeScaling, attentionBias, tiedEmbeddings, bosTokenId, eos,
                sourceFormat, weightsType, options);
    }

    public int queryGroupSize() {
        return nHeads / nKvHeads;
    }
}
