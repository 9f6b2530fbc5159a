package steering.vector.bootstrap;

import io.quarkus.grpc.GrpcService;
import jakarta.inject.Inject;
import steering.vector.grpc.VectorServiceImpl;

/** Registers {@link VectorServiceImpl} with Quarkus' gRPC server; the service logic itself is framework-free. */
@GrpcService
public class QuarkusVectorService extends VectorServiceImpl {
    @Inject
    public QuarkusVectorService(VectorServiceHost host) {
        super(host.vectors(), host.approximators(), host.model(), host.sae(), host.datasets(), host.operations());
    }
}
