package steering.sae.bootstrap;

import io.quarkus.grpc.GrpcService;
import jakarta.inject.Inject;
import steering.sae.grpc.SaeServiceImpl;

/** Registers {@link SaeServiceImpl} with Quarkus' gRPC server; the service logic itself is framework-free. */
@GrpcService
public class QuarkusSaeService extends SaeServiceImpl {
    @Inject
    public QuarkusSaeService(SaeServiceHost host) {
        super(host.store(), host.model(), host.corpus(), host.operations(), host.roots(), host.maxRows(), host.checkpointSteps());
    }
}
