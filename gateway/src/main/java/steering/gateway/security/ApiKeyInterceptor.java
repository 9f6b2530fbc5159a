package steering.gateway.security;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** Rejects gRPC calls without a valid API key with UNAUTHENTICATED; health and reflection stay open for probes. */
public class ApiKeyInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

    private final ApiKeys keys;

    public ApiKeyInterceptor(ApiKeys keys) {
        this.keys = keys;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String service = call.getMethodDescriptor().getServiceName();
        boolean open = service != null && (service.startsWith("grpc.health.") || service.startsWith("grpc.reflection."));
        if (open || keys.accepts(headers.get(AUTHORIZATION), headers.get(API_KEY))) return next.startCall(call, headers);
        call.close(Status.UNAUTHENTICATED.withDescription("a valid API key is required: 'authorization: Bearer <key>' or 'x-api-key: <key>'"),
                new Metadata());
        return new ServerCall.Listener<>() {};
    }
}
