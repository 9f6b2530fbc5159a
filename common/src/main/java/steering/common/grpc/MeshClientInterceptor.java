package steering.common.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;

/**
 * Carries the request through a call to another service: the request id ({@code x-request-id}) of the call being
 * served, and the current OpenTelemetry context (W3C {@code traceparent}, {@code tracestate}, {@code baggage}) through
 * the given propagator. Both are read on the thread that creates the call, where the served call's contexts are.
 */
public final class MeshClientInterceptor implements ClientInterceptor {
    private static final TextMapSetter<Metadata> SETTER =
            (carrier, key, value) -> carrier.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);

    private final TextMapPropagator propagator;

    public MeshClientInterceptor(TextMapPropagator propagator) {
        this.propagator = propagator;
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        String requestId = RequestIds.current();
        Context trace = Context.current();
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                if (requestId != null && !headers.containsKey(RequestIds.HEADER)) headers.put(RequestIds.HEADER, requestId);
                propagator.inject(trace, headers, SETTER);
                super.start(listener, headers);
            }
        };
    }
}
