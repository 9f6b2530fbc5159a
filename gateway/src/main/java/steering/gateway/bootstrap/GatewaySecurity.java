package steering.gateway.bootstrap;

import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.enterprise.inject.spi.Prioritized;
import jakarta.inject.Singleton;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import steering.common.quarkus.MeshGrpc;
import steering.gateway.security.ApiKeyInterceptor;
import steering.gateway.security.ApiKeys;
import steering.gateway.security.ClientQuota;

import java.util.List;
import java.util.Optional;

/** API-key authentication for both of the gateway's faces, from `steering.gateway.api-keys` (empty = off). */
@ApplicationScoped
public class GatewaySecurity {
    @ConfigProperty(name = "steering.gateway.api-keys")
    Optional<List<String>> configured;

    private volatile ApiKeys keys;

    @Produces
    @Singleton
    ApiKeys apiKeys() {
        ApiKeys k = keys;
        if (k == null) keys = k = new ApiKeys(configured.orElse(List.of()));
        return k;
    }

    /** gRPC: every service of the gateway's server (inside the request log, so refused calls are logged). */
    @Singleton
    @GlobalInterceptor
    public static class GrpcAuth extends ApiKeyInterceptor implements Prioritized {
        public GrpcAuth(ApiKeys keys) {
            super(keys);
        }

        @Override
        public int getPriority() {
            return MeshGrpc.RequestLog.PRIORITY - 10;
        }
    }

    /** gRPC: at most steering.gateway.max-calls-per-client calls of one client in flight (inside authentication). */
    @Singleton
    @GlobalInterceptor
    public static class GrpcQuota extends ClientQuota implements Prioritized {
        public GrpcQuota(@ConfigProperty(name = "steering.gateway.max-calls-per-client", defaultValue = "0") int maxCallsPerClient) {
            super(maxCallsPerClient);
        }

        @Override
        public int getPriority() {
            return MeshGrpc.RequestLog.PRIORITY - 20;
        }
    }

    /**
     * HTTP: the OpenAI-compatible API and the playground's API (metrics and health under /q stay open for probes and
     * scrapers; the playground's static page at / is open too, so that it can ask for the key).
     */
    @ServerRequestFilter
    public Optional<Response> httpAuth(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (!path.startsWith("/v1") && !path.startsWith("/api")) return Optional.empty();
        ApiKeys keys = apiKeys();
        if (keys.accepts(request.getHeaderString("Authorization"), request.getHeaderString("x-api-key"))) return Optional.empty();
        return Optional.of(Response.status(401).type(MediaType.APPLICATION_JSON)
                .entity("{\"error\":{\"message\":\"a valid API key is required (Authorization: Bearer <key>)\",\"type\":\"invalid_request_error\",\"code\":\"unauthenticated\"}}")
                .build());
    }
}
