package steering.common.ops;

import com.google.protobuf.Any;
import com.google.protobuf.Message;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** What a running task sees of its operation: progress reporting and cancellation. Thread-safe. */
public interface OperationContext {

    String id();

    /** Whether the operation was cancelled; long loops check this (or {@link #checkCancelled()}) between steps. */
    boolean isCancelled();

    /** Throws {@link OperationCancelledException} once the operation was cancelled. */
    default void checkCancelled() {
        if (isCancelled()) throw new OperationCancelledException(id());
    }

    /**
     * Reports progress.
     *
     * @param fraction 0..1 (clamped); NaN leaves the fraction unchanged
     * @param message  a human-readable line about the current step; null leaves it unchanged
     */
    void progress(double fraction, String message);

    /** Sets one current figure (e.g. "fvu"); replaces an earlier value of the same name. */
    void metric(String name, double value);

    /** Sets several figures and, with them, the progress in one update. */
    void update(double fraction, String message, Map<String, Double> metrics);

    /**
     * The last state saved with {@link #checkpoint(Message)}: present when this run resumes an operation that a
     * restart interrupted. Empty when the registry does not persist.
     */
    default Optional<Any> checkpoint() {
        return Optional.empty();
    }

    /** Saves a (small) resumable state atomically, replacing the previous one; a no-op when nothing is persisted. */
    default void checkpoint(Message state) throws IOException {}

    /**
     * A directory of this operation's own for checkpoint files too large for a message (deleted when the operation
     * ends); empty when the registry does not persist.
     */
    default Optional<Path> workDirectory() {
        return Optional.empty();
    }
}
