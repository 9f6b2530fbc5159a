package steering.gateway.mesh;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import steering.v1.ModelServiceGrpc;

import java.util.concurrent.TimeUnit;

/**
 * Channels from the gateway to the services it composes. Targets are gRPC target strings ("127.0.0.1:50051",
 * "dns:///model-service:50051"); calls are balanced round-robin over whatever the name resolves to, which is how a
 * headless Kubernetes Service spreads load over pods.
 */
public final class MeshClients implements AutoCloseable {
    private final ManagedChannel model;

    public MeshClients(String modelServiceTarget) {
        this.model = channel(modelServiceTarget);
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
    }
}
