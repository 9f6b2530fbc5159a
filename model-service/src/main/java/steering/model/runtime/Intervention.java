package steering.model.runtime;

/**
 * A write hook: at {@code hook}, {@code h[t] += scale * row(t)} for the positions the policy selects.
 *
 * @param vector row-major [rows, d_model]; rows is 1 except for PROMPT_FRONT, where row i goes to position i
 */
public record Intervention(HookPoint hook, float[] vector, int rows, float scale, Policy policy, int fromIndex) {

    public enum Policy { ALL, PROMPT_FRONT, FROM_INDEX }

    /** The row to add at absolute position {@code pos}, or -1 when this intervention leaves that position alone. */
    public int rowFor(int pos) {
        return switch (policy) {
            case ALL -> 0;
            case FROM_INDEX -> pos >= fromIndex ? 0 : -1;
            case PROMPT_FRONT -> pos < rows ? pos : -1;
        };
    }
}
