package steering.gateway.mesh;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import steering.v1.ModelServiceGrpc;
import steering.v1.VectorServiceGrpc;

import java.util.concurrent.TimeUnit;

/**
 * Channels from the gateway to the services it composes. Targets are gRPC target strings ("127.0.0.1:50051",
 * "dns:///model-service:50051"); calls are balanced round-robin over whatever the name resolves to, which is how a
 * headless Kubernetes Service spreads load over pods.
 */
public final class MeshClients implements AutoCloseable {
    private final ManagedChannel model;
    private final ManagedChannel vector;

    public MeshClients(String modelServiceTarget) {
        this(modelServiceTarget, null);
    }

    /** @param vectorServiceTarget null or blank: no vector-service (registry vectors and recipes are refused) */
    public MeshClients(String modelServiceTarget, String vectorServiceTarget) {
        this.model = channel(modelServiceTarget);
        this.vector = vectorServiceTarget == null || vectorServiceTarget.isBlank() ? null : channel(vectorServiceTarget);
    }

    /** vector-service, or null when the gateway runs without one. */
    public VectorServiceGrpc.VectorServiceBlockingStub vectorBlocking() {
        return vector == null ? null : VectorServiceGrpc.newBlockingStub(vector);
    }

    static ManagedChannel channel(String target) {
        return NettyChannelBuilder.forTarget(target).usePlaintext().defaultLoadBalancingPolicy("round_robin")
                .maxInboundMessageSize(64 << 20).build();
    }

    /** Deadlines of the incoming call propagate to this stub's calls through gRPC's Context. */
    public ModelServiceGrpc.ModelServiceStub model() {
        return ModelServiceGrpc.newStub(model);
    }

    public ModelServiceGrpc.ModelServiceBlockingStub modelBlocking() {
        return ModelServiceGrpc.newBlockingStub(model);
    }

    @Override
    public void close() throws InterruptedException {
        model.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (vector != null) vector.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
