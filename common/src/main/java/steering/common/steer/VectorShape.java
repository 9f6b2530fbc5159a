package steering.common.steer;

import java.util.List;

/**
 * The mesh's one shape rule for rows of a width d (steering vectors, activations, SAE features): {@code [d]} is one
 * row, {@code [n, d]} is n rows. Messages are for INVALID_ARGUMENT; callers name the field.
 */
public final class VectorShape {
    private VectorShape() {}

    /**
     * The row count of {@code shape}, [d] or [n, d] with n in [1, maxRows] (maxRows <= 0: no bound); otherwise an
     * IllegalArgumentException "shape S does not fit WHAT d: expected [d] or [n, d]".
     *
     * @param what names the width, e.g. "d_model" or "the SAE's d_in"
     */
    public static int rows(List<Long> shape, int d, String what, int maxRows) {
        if (shape.size() == 1 && shape.get(0) == d) return 1;
        if (shape.size() == 2 && shape.get(1) == d && shape.get(0) >= 1 && (maxRows <= 0 || shape.get(0) <= maxRows)) {
            return (int) (long) shape.get(0);
        }
        throw new IllegalArgumentException("shape " + shape + " does not fit " + what + " " + d + ": expected [" + d
                + "] or [n, " + d + "]" + (maxRows > 0 ? " with n in [1, " + maxRows + "]" : ""));
    }

    /** {@link #rows} without a bound on n. */
    public static int rows(List<Long> shape, int d, String what) {
        return rows(shape, d, what, 0);
    }

    /** Several rows are ActAdd's, added at the prompt's front; every other position policy takes one row. */
    public static void requireOneRowUnlessPromptFront(List<Long> shape, int rows, boolean promptFront, int d) {
        if (rows > 1 && !promptFront) {
            throw new IllegalArgumentException("shape " + shape + " has several rows, which only PROMPT_FRONT uses; "
                    + "other policies take shape [" + d + "]");
        }
    }
}
