package steering.gateway;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.MetadataUtils;
import org.junit.jupiter.api.Test;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.gateway.mesh.MeshClients;
import steering.gateway.security.ApiKeyInterceptor;
import steering.gateway.security.ApiKeys;
import steering.v1.GetModelInfoRequest;
import steering.v1.SteeringGrpc;

import java.net.InetSocketAddress;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** API keys at the gateway: calls without a key are UNAUTHENTICATED, health stays open, a valid key passes. */
class ApiKeyAuthTest {

    @Test
    void keysAreCheckedFromEitherHeader() {
        ApiKeys keys = new ApiKeys(List.of("k1", " k2 "));
        assertTrue(keys.accepts("Bearer k1", null));
        assertTrue(keys.accepts("bearer k2", null));
        assertTrue(keys.accepts(null, "k2"));
        assertFalse(keys.accepts("Bearer nope", null));
        assertFalse(keys.accepts(null, null));
        assertFalse(keys.accepts("k1", null), "a bare key in Authorization is not a bearer token");
        assertTrue(new ApiKeys(List.of()).accepts(null, null), "no keys configured: auth is off");
    }

    @Test
    void grpcCallsNeedAKeyButHealthDoesNot() throws Exception {
        // the dependency is unreachable on purpose: an authenticated call gets past auth and fails UNAVAILABLE
        try (MeshClients mesh = new MeshClients("127.0.0.1:1")) {
            HealthStatusManager health = new HealthStatusManager();
            Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(ServerInterceptors.intercept(new SteeringServiceImpl(mesh), new ApiKeyInterceptor(new ApiKeys(List.of("secret")))))
                    .addService(ServerInterceptors.intercept(health.getHealthService(), new ApiKeyInterceptor(new ApiKeys(List.of("secret")))))
                    .build().start();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
            try {
                var anonymous = SteeringGrpc.newBlockingStub(ch);
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> anonymous.getModelInfo(GetModelInfoRequest.getDefaultInstance()));
                assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());

                Metadata auth = new Metadata();
                auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer secret");
                var withKey = anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
                StatusRuntimeException down = assertThrows(StatusRuntimeException.class, () -> withKey.getModelInfo(GetModelInfoRequest.getDefaultInstance()));
                assertEquals(Status.Code.UNAVAILABLE, down.getStatus().getCode(), "past authentication, the dependency is down");

                assertNotNull(HealthGrpc.newBlockingStub(ch).check(HealthCheckRequest.getDefaultInstance()).getStatus());
            } finally {
                ch.shutdownNow();
                server.shutdownNow();
            }
        }
    }
}
