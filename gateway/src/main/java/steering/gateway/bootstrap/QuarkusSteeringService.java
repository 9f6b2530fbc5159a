package steering.gateway.bootstrap;

import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import steering.gateway.grpc.SteeringServiceImpl;

/** Registers {@link SteeringServiceImpl} with Quarkus' gRPC server. */
@GrpcService
@Blocking // GetModelInfo, Compare and the registry pass-through wait on other services: keep them off the Vert.x event loop
public class QuarkusSteeringService extends SteeringServiceImpl {
    @Inject
    public QuarkusSteeringService(GatewayMesh mesh, GatewayJudges judges) {
        super(mesh.clients(), judges.operations(), judges::judge);
    }
}
