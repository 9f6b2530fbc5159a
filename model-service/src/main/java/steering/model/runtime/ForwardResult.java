package steering.model.runtime;

import steering.common.steer.HookPoint;

import java.util.Map;

/**
 * What a forward step returns for one sequence.
 *
 * @param logits   row-major [rows, vocab] for the rows the step asked for
 * @param captured per read hook, row-major [tokens, d_model]
 */
public record ForwardResult(float[] logits, int rows, Map<HookPoint, float[]> captured) {}
