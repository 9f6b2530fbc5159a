package steering.model.engine;

import steering.model.runtime.Intervention;

import java.util.List;

/**
 * A validated generation request in runtime terms.
 *
 * @param interventions from the prompt on
 * @param topLogprobs   -1: no log-probs; 0..20: each token's log-prob and that many alternatives ({@link TokenLogprobs})
 * @param conditionals  interventions for the new tokens that the prompt switches on or off ({@link Conditional})
 */
public record GenerationRequest(int[] promptIds, int maxNewTokens, float temperature, int topK, float topP, long seed,
                                List<String> stopStrings, boolean ignoreEos, List<Intervention> interventions,
                                int topLogprobs, List<Conditional> conditionals) {

    /** Without log-probs or conditions. */
    public GenerationRequest(int[] promptIds, int maxNewTokens, float temperature, int topK, float topP, long seed,
                             List<String> stopStrings, boolean ignoreEos, List<Intervention> interventions) {
        this(promptIds, maxNewTokens, temperature, topK, topP, seed, stopStrings, ignoreEos, interventions, -1, List.of());
    }
}
