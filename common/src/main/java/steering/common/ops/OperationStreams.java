package steering.common.ops;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import steering.common.grpc.Errors;
import steering.v1.CancelOperationRequest;
import steering.v1.GetOperationRequest;
import steering.v1.Operation;
import steering.v1.OperationState;
import steering.v1.WatchOperationRequest;

/**
 * The GetOperation / WatchOperation / CancelOperation RPCs over an {@link OperationRegistry}, for any service's
 * ImplBase to delegate to.
 */
public final class OperationStreams {
    private OperationStreams() {}

    public static void get(OperationRegistry registry, GetOperationRequest request, StreamObserver<Operation> out) {
        try {
            out.onNext(registry.get(request.getId()));
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    public static void cancel(OperationRegistry registry, CancelOperationRequest request, StreamObserver<Operation> out) {
        try {
            out.onNext(registry.cancel(request.getId()));
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    /** Streams the current state and every change; completes after the final state or when the client goes away. */
    public static void watch(OperationRegistry registry, WatchOperationRequest request, StreamObserver<Operation> out) {
        try {
            Object lock = new Object();
            boolean[] ended = {false};
            OperationRegistry.Subscription sub = registry.watch(request.getId(), op -> {
                synchronized (lock) {
                    if (ended[0]) return;
                    out.onNext(op);
                    if (isDone(op)) {
                        ended[0] = true;
                        out.onCompleted();
                    }
                }
            });
            if (out instanceof ServerCallStreamObserver<Operation> call) {
                call.setOnCancelHandler(() -> {
                    synchronized (lock) {
                        ended[0] = true;
                    }
                    sub.close();
                });
                if (call.isCancelled()) sub.close();
            }
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    public static boolean isDone(Operation op) {
        return op.getState() == OperationState.OPERATION_STATE_SUCCEEDED
                || op.getState() == OperationState.OPERATION_STATE_FAILED
                || op.getState() == OperationState.OPERATION_STATE_CANCELLED;
    }
}
