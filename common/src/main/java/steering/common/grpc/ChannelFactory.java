package steering.common.grpc;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.TextMapPropagator;

import java.util.List;

/**
 * The one way the mesh's members build channels to each other: plaintext, TLS or mTLS as {@link MeshTls} says,
 * round-robin over whatever the target resolves to (a headless Kubernetes Service spreads calls over its pods),
 * and the request id and trace context of the call being served carried on every call.
 */
public final class ChannelFactory {
    private final MeshTls tls;
    private final List<ClientInterceptor> interceptors;

    public ChannelFactory(MeshTls tls, TextMapPropagator propagator) {
        this.tls = tls;
        this.interceptors = List.of(new MeshClientInterceptor(propagator));
    }

    /** Plaintext channels with W3C trace context and request ids: the default, and what the tests use. */
    public static ChannelFactory plaintext() {
        return new ChannelFactory(MeshTls.PLAINTEXT, w3c());
    }

    /** TLS from the STEERING_TLS_* environment variables (plaintext when none is set). */
    public static ChannelFactory fromEnv() {
        return new ChannelFactory(MeshTls.fromEnv(), w3c());
    }

    public static TextMapPropagator w3c() {
        return TextMapPropagator.composite(W3CTraceContextPropagator.getInstance(), W3CBaggagePropagator.getInstance());
    }

    public MeshTls tls() {
        return tls;
    }

    /** @param target a gRPC target string: "127.0.0.1:50051", "dns:///model-service:50051" */
    public ManagedChannel channel(String target, int maxInboundMessageBytes) {
        return NettyChannelBuilder.forTarget(target, tls.channelCredentials())
                .defaultLoadBalancingPolicy("round_robin")
                .maxInboundMessageSize(maxInboundMessageBytes)
                .intercept(interceptors)
                .build();
    }
}
