package steering.common.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** The mesh's error conventions: bad input names the field and the allowed range. */
public final class Errors {
    private Errors() {}

    public static StatusRuntimeException invalid(String field, String problem) {
        return Status.INVALID_ARGUMENT.withDescription(field + ": " + problem).asRuntimeException();
    }

    public static StatusRuntimeException notFound(String what) {
        return Status.NOT_FOUND.withDescription(what).asRuntimeException();
    }

    public static StatusRuntimeException exhausted(String why) {
        return Status.RESOURCE_EXHAUSTED.withDescription(why).asRuntimeException();
    }

    public static StatusRuntimeException unavailable(String why) {
        return Status.UNAVAILABLE.withDescription(why).asRuntimeException();
    }

    public static StatusRuntimeException internal(String why, Throwable cause) {
        return Status.INTERNAL.withDescription(why).withCause(cause).asRuntimeException();
    }

    /** Passes gRPC statuses through and turns anything else into INTERNAL (never a raw exception to the client). */
    public static StatusRuntimeException toStatus(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException || c instanceof java.util.concurrent.ExecutionException)
                && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof StatusRuntimeException s) return s;
        if (c instanceof io.grpc.StatusException s) return s.getStatus().asRuntimeException(s.getTrailers());
        if (c instanceof java.util.concurrent.RejectedExecutionException) return exhausted(c.getMessage());
        return internal(c.getClass().getSimpleName() + ": " + c.getMessage(), c);
    }
}
