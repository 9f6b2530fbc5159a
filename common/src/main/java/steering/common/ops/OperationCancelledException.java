package steering.common.ops;

/** Thrown inside a task when its operation was cancelled; the operation then ends CANCELLED. */
public class OperationCancelledException extends RuntimeException {
    public OperationCancelledException(String operationId) {
        super("operation " + operationId + " was cancelled");
    }
}
