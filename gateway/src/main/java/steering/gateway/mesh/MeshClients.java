package steering.gateway.mesh;

import io.grpc.ManagedChannel;
import steering.common.grpc.ChannelFactory;
import steering.v1.ModelServiceGrpc;
import steering.v1.SaeServiceGrpc;
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
    private final ManagedChannel sae;

    public MeshClients(String modelServiceTarget) {
        this(modelServiceTarget, null);
    }

    /** Plaintext channels (tests). */
    public MeshClients(String modelServiceTarget, String vectorServiceTarget) {
        this(ChannelFactory.plaintext(), modelServiceTarget, vectorServiceTarget, null);
    }

    /** Plaintext channels (tests), with sae-service for the playground's feature search. */
    public MeshClients(String modelServiceTarget, String vectorServiceTarget, String saeServiceTarget) {
        this(ChannelFactory.plaintext(), modelServiceTarget, vectorServiceTarget, saeServiceTarget);
    }

    /**
     * @param channels plaintext or TLS; every call carries the request id and trace context of the call being served
     * @param vectorServiceTarget null or blank: no vector-service (registry vectors and recipes are refused)
     * @param saeServiceTarget    null or blank: no sae-service (the playground's feature pages are refused)
     */
    public MeshClients(ChannelFactory channels, String modelServiceTarget, String vectorServiceTarget, String saeServiceTarget) {
        this.model = channels.channel("model-service", modelServiceTarget, 64 << 20);
        this.vector = optional(channels, "vector-service", vectorServiceTarget);
        this.sae = optional(channels, "sae-service", saeServiceTarget);
    }

    private static ManagedChannel optional(ChannelFactory channels, String name, String target) {
        return target == null || target.isBlank() ? null : channels.channel(name, target, 64 << 20);
    }

    /** vector-service, or null when the gateway runs without one. */
    public VectorServiceGrpc.VectorServiceBlockingStub vectorBlocking() {
        return vector == null ? null : VectorServiceGrpc.newBlockingStub(vector);
    }

    /** sae-service, or null when the gateway runs without one. */
    public SaeServiceGrpc.SaeServiceBlockingStub saeBlocking() {
        return sae == null ? null : SaeServiceGrpc.newBlockingStub(sae);
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
        for (ManagedChannel c : new ManagedChannel[] {vector, sae}) {
            if (c != null) c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
