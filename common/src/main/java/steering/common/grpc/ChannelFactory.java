package steering.common.grpc;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.TextMapPropagator;

import java.time.Duration;
import java.util.List;

/**
 * The one way the mesh's members build channels to each other: plaintext, TLS or mTLS as {@link MeshTls} says,
 * round-robin over whatever the target resolves to (a headless Kubernetes Service spreads calls over its pods),
 * the request id and trace context of the call being served carried on every call, and a reconnection within
 * {@link #reconnectEvery()} of a dependency's return however long it was down ({@link PromptReconnect}).
 */
public final class ChannelFactory {
    private final MeshTls tls;
    private final List<ClientInterceptor> interceptors;
    private final Duration reconnectEvery;

    /** how often a channel with a dead connection tries again at most: well inside the 30 s the mesh promises */
    public static final Duration DEFAULT_RECONNECT = Duration.ofSeconds(5);

    public ChannelFactory(MeshTls tls, TextMapPropagator propagator) {
        this(tls, propagator, DEFAULT_RECONNECT);
    }

    public ChannelFactory(MeshTls tls, TextMapPropagator propagator, Duration reconnectEvery) {
        this.tls = tls;
        this.interceptors = List.of(new MeshClientInterceptor(propagator));
        this.reconnectEvery = reconnectEvery;
    }

    public Duration reconnectEvery() {
        return reconnectEvery;
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
        return channel(null, target, maxInboundMessageBytes);
    }

    /** @param name the dependency's name ("model-service"), which an UNAVAILABLE from it then carries */
    public ManagedChannel channel(String name, String target, int maxInboundMessageBytes) {
        return new PromptReconnect(NettyChannelBuilder.forTarget(target, tls.channelCredentials())
                .defaultLoadBalancingPolicy("round_robin")
                .maxInboundMessageSize(maxInboundMessageBytes)
                .intercept(interceptors)
                .intercept(new NamedUnavailable(name, target))
                .build(), reconnectEvery);
    }
}
