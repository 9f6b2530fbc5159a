package steering.common.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The mesh's error conventions: bad input names the field and the allowed range. */
public final class Errors {
    private Errors() {}

    /** the longest description sent: it travels in a trailer, which clients limit (8 KiB by default in grpc-java) */
    public static final int MAX_DESCRIPTION = 1000;

    public static StatusRuntimeException invalid(String field, String problem) {
        return Status.INVALID_ARGUMENT.withDescription(cut(field + ": " + problem)).asRuntimeException();
    }

    /** {@code status} with its description cut at {@link #MAX_DESCRIPTION} characters. */
    public static Status bounded(Status status) {
        String d = status.getDescription();
        return d == null || d.length() <= MAX_DESCRIPTION ? status : status.withDescription(cut(d));
    }

    private static String cut(String d) {
        return d.length() > MAX_DESCRIPTION ? d.substring(0, MAX_DESCRIPTION - 3) + "..." : d;
    }

    /** the field path an INVALID_ARGUMENT description starts with: "inputs[3].text" in "inputs[3].text: is empty" */
    private static final Pattern LEADING_FIELD = Pattern.compile("([a-z_][a-z0-9_]*(?:\\[\\d+]|\\.[a-z_][a-z0-9_]*)*): ");

    /** The field an INVALID_ARGUMENT names first ("inputs[3].text" of "inputs[3].text: is empty"); null for others. */
    public static String leadingField(io.grpc.Status status) {
        if (status.getCode() != Status.Code.INVALID_ARGUMENT || status.getDescription() == null) return null;
        Matcher m = LEADING_FIELD.matcher(status.getDescription());
        return m.lookingAt() ? m.group(1) : null;
    }

    /**
     * A dependency's INVALID_ARGUMENT about a field of the request we sent it, restated about the field of our
     * caller's request that the value came from: {@code fields} gets the dependency's field path ("prompt",
     * "inputs[3].text") and returns ours ("actadd.positive"), or null when the value was not the caller's. With that,
     * model-service's "prompt: the prompt has 2002 tokens, the limit is 512" becomes "actadd.positive: the prompt
     * has 2002 tokens, the limit is 512". Null for any other error, or a field that {@code fields} does not map.
     */
    public static StatusRuntimeException restated(StatusRuntimeException e, UnaryOperator<String> fields) {
        String d = e.getStatus().getDescription();
        if (e.getStatus().getCode() != Status.Code.INVALID_ARGUMENT || d == null) return null;
        Matcher m = LEADING_FIELD.matcher(d);
        String ours = m.lookingAt() ? fields.apply(m.group(1)) : null;
        return ours == null ? null : invalid(ours, d.substring(m.end()));
    }

    /** Runs a call to a dependency; its INVALID_ARGUMENT about a field we sent it is {@link #restated} about our caller's. */
    public static <T> T restating(java.util.function.Supplier<T> call, UnaryOperator<String> fields) {
        try {
            return call.get();
        } catch (StatusRuntimeException e) {
            StatusRuntimeException ours = restated(e, fields);
            throw ours != null ? ours : e;
        }
    }

    /** Whether field path {@code path} is {@code field} or inside it ("prompt.text" is in "prompt", "prompts" is not). */
    public static boolean within(String path, String field) {
        return path.equals(field) || path.startsWith(field + ".") || path.startsWith(field + "[");
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
