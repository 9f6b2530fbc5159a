package steering.common.client;

import steering.common.grpc.ChannelFactory;
import steering.v1.VectorServiceGrpc;

/**
 * The mesh's client of vector-service, for the gateway (registry vectors, recipes, BuildVector/ListVectors) and
 * {@code steer}. Those callers relay vector-service's answers and errors as they are, so this client gives the stub;
 * its channel names vector-service in an UNAVAILABLE and carries request ids and trace context.
 */
public class VectorClient extends ServiceClient {
    /** @param channels plaintext ({@link ChannelFactory#plaintext()}) or TLS */
    public VectorClient(String address, ChannelFactory channels, long deadlineSeconds) {
        super("vector-service", address, channels, deadlineSeconds);
    }

    /** A raw blocking stub: no deadline of its own (the current call's applies). */
    public VectorServiceGrpc.VectorServiceBlockingStub blocking() {
        return VectorServiceGrpc.newBlockingStub(channel).withMaxInboundMessageSize(MAX_INBOUND_BYTES);
    }

    /** {@link #blocking()} with this client's deadline per call (for callers outside a request: {@code steer}). */
    public VectorServiceGrpc.VectorServiceBlockingStub withDeadline() {
        return blocking().withDeadline(deadline());
    }
}
