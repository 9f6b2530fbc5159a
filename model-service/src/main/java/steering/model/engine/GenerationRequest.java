package steering.model.engine;

import steering.model.runtime.Intervention;

import java.util.List;

/** A validated generation request in runtime terms. */
public record GenerationRequest(int[] promptIds, int maxNewTokens, float temperature, int topK, float topP, long seed,
                                List<String> stopStrings, boolean ignoreEos, List<Intervention> interventions) {}
