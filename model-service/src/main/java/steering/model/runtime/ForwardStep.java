package steering.model.runtime;

import steering.common.steer.HookPoint;

import java.util.List;
import java.util.Set;

/**
 * One sequence's share of a batched forward step.
 *
 * @param tokens        the new tokens of this sequence
 * @param startPosition absolute position of tokens[0] (= tokens already in its KV cache)
 * @param slot          its KV-cache slot, or -1 for a one-shot forward that keeps no cache (Score, Capture)
 * @param interventions write hooks of this sequence
 * @param logitsFrom    logits are returned for new tokens [logitsFrom, tokens.length); tokens.length = none
 * @param captures      read hooks: the residual at these points is returned for every new token
 */
public record ForwardStep(int[] tokens, int startPosition, int slot, List<Intervention> interventions,
                          int logitsFrom, Set<HookPoint> captures) {

    public static ForwardStep decode(int token, int position, int slot, List<Intervention> interventions) {
        return new ForwardStep(new int[]{token}, position, slot, interventions, 0, Set.of());
    }

    public int length() {
        return tokens.length;
    }
}
