package steering.model.runtime;

import java.util.List;

/**
 * How one decoder family departs from the Llama block, so that a single forward serves Llama and Gemma.
 *
 * @param normWeightOffset   added to every RMSNorm weight at load: 0 for Llama, 1 for Gemma (which scales by 1 + w)
 * @param sandwichNorms      Gemma 2/3: the attention and MLP outputs are normed before they join the residual
 *                           (post_attention_layernorm, post_feedforward_layernorm) and the MLP reads its own
 *                           pre_feedforward_layernorm
 * @param activation         gate activation of the gated MLP
 * @param embeddingScale     the embedding rows are multiplied by this (Gemma: sqrt(d_model)); the tied output head
 *                           uses the unscaled matrix
 * @param attnLogitSoftcap   attention scores become cap * tanh(scores / cap) before the mask; 0 = off (Gemma 2: 50)
 * @param finalLogitSoftcap  the same on the output logits; 0 = off (Gemma 2: 30)
 * @param queryPreAttnScalar attention scores are scaled by 1/sqrt(this); 0 = head_dim
 * @param qkNorm             Gemma 3: RMSNorm over head_dim on q and k (self_attn.q_norm / k_norm) before RoPE
 * @param slidingWindow      local layers attend to the last this-many positions (the query's own included)
 * @param slidingLayers      per layer, true when it is a local (sliding-window) layer; empty = all global
 * @param ropeLocalTheta     RoPE base of local layers (Gemma 3: 10000); 0 = the model's rope_theta
 * @param ropeLinearFactor   global layers divide RoPE positions by this (rope_scaling type "linear"); 1 = none
 */
public record DecoderOptions(
        float normWeightOffset,
        boolean sandwichNorms,
        Activation activation,
        float embeddingScale,
        float attnLogitSoftcap,
        float finalLogitSoftcap,
        float queryPreAttnScalar,
        boolean qkNorm,
        int slidingWindow,
        List<Boolean> slidingLayers,
        float ropeLocalTheta,
        float ropeLinearFactor) {

    public enum Activation {
        /** SwiGLU: silu(gate) * up. */
        SILU,
        /** GeGLU with the tanh approximation of GELU (PyTorch's gelu(approximate="tanh")). */
        GELU_TANH
    }

    public DecoderOptions {
        slidingLayers = List.copyOf(slidingLayers);
        if (slidingLayers.contains(true) && slidingWindow <= 0) {
            throw new IllegalArgumentException("sliding-window layers need a positive sliding window");
        }
        if (ropeLinearFactor <= 0) throw new IllegalArgumentException("rope linear factor must be positive");
    }

    /** The Llama block: pre-norms only, SwiGLU, no scaling, no capping, global attention everywhere. */
    public static DecoderOptions llama() {
        return new DecoderOptions(0f, false, Activation.SILU, 1f, 0f, 0f, 0f, false, 0, List.of(), 0f, 1f);
    }

    public boolean isSliding(int layer) {
        return layer < slidingLayers.size() && slidingLayers.get(layer);
    }

    /** Gemma 2's pattern: even layers local, odd layers global. */
    public static List<Boolean> alternating(int nLayers, int period) {
        Boolean[] out = new Boolean[nLayers];
        // every period-th layer (1-based) is global, the others local: Gemma 2 uses period 2, Gemma 3 period 6
        for (int i = 0; i < nLayers; i++) out[i] = (i + 1) % period != 0;
        return List.of(out);
    }
}
