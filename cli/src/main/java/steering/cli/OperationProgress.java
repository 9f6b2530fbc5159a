package steering.cli;

import steering.v1.Operation;
import steering.v1.OperationState;

import java.util.Iterator;

/** Follows a long-running operation's WatchOperation stream with a one-line progress bar on stderr. */
final class OperationProgress {
    private OperationProgress() {}

    /** The last state seen; throws when the operation did not succeed. */
    static Operation follow(Iterator<Operation> updates, Operation started, String label) {
        Operation last = started;
        while (updates.hasNext()) {
            last = updates.next();
            System.err.printf("\r%s [%-30s] %3.0f%% %-60s", label, "#".repeat((int) Math.round(30 * last.getProgress())),
                    100 * last.getProgress(), last.getMessage());
        }
        System.err.println();
        if (last.getState() != OperationState.OPERATION_STATE_SUCCEEDED) {
            throw new IllegalStateException(label + ": " + last.getState() + ": " + last.getError().getMessage());
        }
        return last;
    }
}
