package steering.gateway.bootstrap;

import io.quarkus.grpc.GrpcService;
import jakarta.inject.Inject;
import steering.gateway.grpc.SteeringServiceImpl;

/** Registers {@link SteeringServiceImpl} with Quarkus' gRPC server. */
@GrpcService
public class QuarkusSteeringService extends SteeringServiceImpl {
    @Inject
    public QuarkusSteeringService(GatewayMesh mesh, GatewayJudges judges) {
        super(mesh.clients(), judges.operations(), judges::judge);
    }
}
