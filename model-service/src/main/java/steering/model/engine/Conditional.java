package steering.model.engine;

import steering.common.steer.HookPoint;
import steering.model.runtime.Intervention;

/**
 * An intervention that applies to a generation's new tokens only if its prompt meets a condition (conditional
 * activation steering, CAST, Lee et al. 2024): c = cos(mean of the prompt's residuals at {@code hook}, direction)
 * compared with the threshold. The engine decides once, when the prompt has been read.
 *
 * @param index        the intervention's index in the request (for the report)
 * @param intervention what applies when the condition holds
 * @param direction    [d_model], not zero
 * @param greater      true: holds when c > threshold; false: when c < threshold
 */
public record Conditional(int index, Intervention intervention, HookPoint hook, float[] direction, double threshold,
                          boolean greater) {

    /** The decision for a prompt whose residuals at the hook sum to {@code sum} over its positions. */
    public Result decide(double[] sum) {
        double dot = 0, a = 0, b = 0;
        for (int j = 0; j < direction.length; j++) {
            dot += sum[j] * direction[j];
            a += sum[j] * sum[j];
            b += (double) direction[j] * direction[j];
        }
        double cosine = a == 0 ? 0 : dot / Math.sqrt(a * b); // the mean's cosine is the sum's
        return new Result(index, cosine, greater ? cosine > threshold : cosine < threshold);
    }

    public record Result(int index, double cosine, boolean met) {}
}
