package steering.common.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Server side of the request id, and one log line per RPC. Takes the caller's {@code x-request-id} (or makes one),
 * sends it back in the response headers, keeps it in the call's gRPC Context (so {@link MeshClientInterceptor}
 * forwards it) and in the MDC (key {@code requestId}) while the call's handlers run, and logs at INFO when the call
 * ends: {@code rpc <service/method> status=<code> duration_ms=<ms> request_id=<id>}. Health checks and reflection
 * are served with the id but not logged (probes would drown the log).
 */
public class RequestLogInterceptor implements ServerInterceptor {
    private static final Logger LOG = Logger.getLogger("steering.rpc");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String incoming = RequestIds.sanitize(headers.get(RequestIds.HEADER));
        String id = incoming != null ? incoming : RequestIds.generate();
        String method = call.getMethodDescriptor().getFullMethodName();
        boolean quiet = method.startsWith("grpc.health.") || method.startsWith("grpc.reflection.");
        long start = System.nanoTime();
        // the trace of this call (OpenTelemetry's server instrumentation, when present, runs before and fills the MDC):
        // kept so that lines logged on other threads (e.g. when a streamed call ends) carry it too
        String[] mdc = {RequestIds.MDC_KEY, id, "traceId", string(MDC.get("traceId")), "spanId", string(MDC.get("spanId"))};
        ServerCall<Q, R> logged = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendHeaders(Metadata responseHeaders) {
                responseHeaders.put(RequestIds.HEADER, id);
                super.sendHeaders(responseHeaders);
            }

            @Override
            public void close(Status status, Metadata trailers) {
                if (!quiet) {
                    withMdc(mdc, () -> {
                        double ms = (System.nanoTime() - start) / 1e6;
                        if (status.isOk()) {
                            LOG.infof("rpc %s status=OK duration_ms=%s request_id=%s", method, format(ms), id);
                        } else {
                            LOG.infof("rpc %s status=%s duration_ms=%s request_id=%s error=%s", method, status.getCode(),
                                    format(ms), id, status.getDescription());
                        }
                        return null;
                    });
                }
                super.close(status, trailers);
            }
        };
        Context context = Context.current().withValue(RequestIds.CONTEXT, id);
        ServerCall.Listener<Q> listener = withMdc(mdc, () -> Contexts.interceptCall(context, logged, headers, next));
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
            @Override
            public void onMessage(Q message) {
                withMdc(mdc, () -> { super.onMessage(message); return null; });
            }

            @Override
            public void onHalfClose() {
                withMdc(mdc, () -> { super.onHalfClose(); return null; });
            }

            @Override
            public void onCancel() {
                withMdc(mdc, () -> { super.onCancel(); return null; });
            }

            @Override
            public void onComplete() {
                withMdc(mdc, () -> { super.onComplete(); return null; });
            }

            @Override
            public void onReady() {
                withMdc(mdc, () -> { super.onReady(); return null; });
            }
        };
    }

    private static String format(double ms) {
        return String.format(Locale.ROOT, "%.1f", ms);
    }

    private static String string(Object o) {
        return o == null ? null : o.toString();
    }

    /**
     * Runs {@code body} with the request id in the MDC, and the trace and span ids where the thread has none, then
     * puts back what was there. {@code entries}: key, value, key, value, ... (null values are skipped).
     */
    static <T> T withMdc(String[] entries, Supplier<T> body) {
        Object[] previous = new Object[entries.length / 2];
        boolean[] set = new boolean[previous.length];
        for (int i = 0; i < previous.length; i++) {
            String key = entries[2 * i], value = entries[2 * i + 1];
            previous[i] = MDC.get(key);
            if (value != null && (i == 0 || previous[i] == null)) {
                MDC.put(key, value);
                set[i] = true;
            }
        }
        try {
            return body.get();
        } finally {
            for (int i = 0; i < previous.length; i++) {
                if (!set[i]) continue;
                if (previous[i] == null) MDC.remove(entries[2 * i]);
                else MDC.put(entries[2 * i], previous[i]);
            }
        }
    }
}
