package steering.gateway.mesh;

import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.common.client.ServiceClient;
import steering.common.client.VectorClient;
import steering.common.grpc.ChannelFactory;
import steering.v1.ModelServiceGrpc;
import steering.v1.SaeServiceGrpc;
import steering.v1.VectorServiceGrpc;

/**
 * The gateway's clients of the services it composes (the mesh's shared clients, {@code steering.common.client}).
 * Targets are gRPC target strings ("127.0.0.1:50051", "dns:///model-service:50051"); calls are balanced round-robin
 * over whatever the name resolves to, which is how a headless Kubernetes Service spreads load over pods. The
 * gateway relays its dependencies' answers, so it uses their raw stubs; deadlines of the incoming call propagate to
 * them through gRPC's Context.
 */
public final class MeshClients implements AutoCloseable {
    /** Per-call deadline of the clients' own typed calls (the gateway's calls set theirs). */
    private static final long DEADLINE_SECONDS = 600;

    private final ModelClient model;
    private final VectorClient vector;
    private final SaeClient sae;

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
        this.model = new ModelClient(modelServiceTarget, channels, DEADLINE_SECONDS);
        this.vector = blank(vectorServiceTarget) ? null : new VectorClient(vectorServiceTarget, channels, DEADLINE_SECONDS);
        this.sae = blank(saeServiceTarget) ? null : new SaeClient(saeServiceTarget, channels, DEADLINE_SECONDS);
    }

    private static boolean blank(String target) {
        return target == null || target.isBlank();
    }

    /** vector-service, or null when the gateway runs without one. */
    public VectorServiceGrpc.VectorServiceBlockingStub vectorBlocking() {
        return vector == null ? null : vector.blocking();
    }

    /** sae-service, or null when the gateway runs without one. */
    public SaeServiceGrpc.SaeServiceBlockingStub saeBlocking() {
        return sae == null ? null : sae.blocking();
    }

    public ModelServiceGrpc.ModelServiceStub model() {
        return model.async();
    }

    public ModelServiceGrpc.ModelServiceBlockingStub modelBlocking() {
        return model.blocking();
    }

    @Override
    public void close() {
        for (ServiceClient c : new ServiceClient[] {model, vector, sae}) {
            if (c != null) c.close();
        }
    }
}
