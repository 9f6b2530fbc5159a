package steering.model.engine;

import steering.model.runtime.Intervention;

import java.util.List;

/**
 * A validated generation request in runtime terms.
 *
 * @param topLogprobs -1: no log-probs; 0..20: each token's log-prob and that many alternatives ({@link TokenLogprobs})
 */
public record GenerationRequest(int[] promptIds, int maxNewTokens, float temperature, int topK, float topP, long seed,
                                List<String> stopStrings, boolean ignoreEos, List<Intervention> interventions,
                                int topLogprobs) {

    /** Without log-probs. */
    public GenerationRequest(int[] promptIds, int maxNewTokens, float temperature, int topK, float topP, long seed,
                             List<String> stopStrings, boolean ignoreEos, List<Intervention> interventions) {
        this(promptIds, maxNewTokens, temperature, topK, topP, seed, stopStrings, ignoreEos, interventions, -1);
    }
}
