package steering.common.grpc;

import io.grpc.Context;
import io.grpc.Metadata;
import org.jboss.logging.MDC;

import java.util.UUID;

/**
 * The request id that follows one request through the mesh: the {@code x-request-id} header of an incoming call
 * (generated when absent), kept in the gRPC {@link Context} of the call and in the logging MDC under
 * {@code requestId}, and sent on every call the service makes while serving it.
 */
public final class RequestIds {
    public static final Metadata.Key<String> HEADER = Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER);
    public static final Context.Key<String> CONTEXT = Context.key("steering.request-id");
    public static final String MDC_KEY = "requestId";
    static final int MAX_LENGTH = 128;

    private RequestIds() {}

    /** The request id of the call being served on this thread (gRPC Context, else the MDC), or null. */
    public static String current() {
        String id = CONTEXT.get();
        if (id != null) return id;
        Object mdc = MDC.get(MDC_KEY);
        return mdc == null ? null : mdc.toString();
    }

    public static String generate() {
        return UUID.randomUUID().toString();
    }

    /** A client's id if it is usable in headers and logs (printable ASCII, at most 128 characters), else null. */
    public static String sanitize(String id) {
        if (id == null) return null;
        String s = id.trim();
        if (s.isEmpty() || s.length() > MAX_LENGTH) return null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e) return null;
        }
        return s;
    }
}
