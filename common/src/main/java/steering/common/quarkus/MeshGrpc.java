package steering.common.quarkus;

import io.opentelemetry.api.OpenTelemetry;
import io.quarkus.arc.Unremovable;
import io.quarkus.grpc.GlobalInterceptor;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.enterprise.inject.spi.Prioritized;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.GracefulDrain;
import steering.common.grpc.MeshTls;
import steering.common.grpc.RequestLogInterceptor;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The Quarkus wiring every service of the mesh shares (discovered by each service from this jar's index):
 * <ul>
 *   <li>{@link ChannelFactory} for the service's own clients of other services: TLS/mTLS from STEERING_TLS_*,
 *       trace context through the application's OpenTelemetry propagators, request ids;</li>
 *   <li>server TLS: each service's application.properties maps STEERING_TLS_CERT / _KEY / _CLIENT_AUTH onto
 *       {@code quarkus.grpc.server.ssl.*}; the CA that client certificates must chain to (a PEM file, which that
 *       configuration does not take) is set here, and every setting is checked before the server starts;</li>
 *   <li>{@link RequestLogInterceptor} on every gRPC service: request ids and one log line per RPC;</li>
 *   <li>graceful shutdown: on SIGTERM, before anything else stops, health turns NOT_SERVING, new calls get
 *       UNAVAILABLE and the running ones may finish for up to {@code steering.shutdown.grace-seconds}
 *       (env STEERING_SHUTDOWN_GRACE_SECONDS, default 50: the manifests' terminationGracePeriodSeconds of 60 less
 *       their 5 s preStop and a margin).</li>
 * </ul>
 */
@Singleton
public class MeshGrpc {
    private static final Logger LOG = Logger.getLogger(MeshGrpc.class);

    private volatile MeshTls tls;

    /** The STEERING_TLS_* settings (also readable as steering.tls.* properties), checked once. */
    public MeshTls tls() {
        MeshTls t = tls;
        if (t == null) {
            t = MeshTls.from(env -> ConfigProvider.getConfig().getOptionalValue(MeshTls.property(env), String.class).orElse(null));
            tls = t;
        }
        return t;
    }

    /**
     * Runs first among the shutdown observers (the services' own close their engines and clients), so the calls in
     * flight still have everything they need while they finish.
     */
    void drainOnShutdown(@Observes @Priority(1) ShutdownEvent event, Drain drain, GrpcHealthStorage health) throws InterruptedException {
        for (String service : List.copyOf(health.getStatuses().keySet())) health.setStatus(service, ServingStatus.NOT_SERVING);
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.NOT_SERVING);
        long grace = ConfigProvider.getConfig().getOptionalValue("steering.shutdown.grace-seconds", Long.class).orElse(50L);
        int running = drain.inFlight();
        long t0 = System.nanoTime();
        int left = drain.drain(Duration.ofSeconds(grace));
        LOG.infof("shutdown: %d calls were running; %s after %.1f s", running,
                left == 0 ? "all finished" : left + " still running at the end of the " + grace + " s grace period", (System.nanoTime() - t0) / 1e9);
    }

    @Produces
    @Singleton
    ChannelFactory channels(Instance<OpenTelemetry> otel) {
        ChannelFactory f = new ChannelFactory(tls(), otel.isResolvable()
                ? otel.get().getPropagators().getTextMapPropagator() : ChannelFactory.w3c());
        LOG.infof("mesh TLS: %s", f.tls().summary());
        return f;
    }

    /**
     * Checks the TLS settings before the gRPC server starts and adds the client CA to it. Quarkus applies its own
     * {@code quarkus.grpc.server.ssl.*} after this, and leaves the trust options alone when no trust store is set.
     * Needs Quarkus' separate gRPC server (quarkus.grpc.server.use-separate-server=true), which every service uses.
     */
    @Singleton
    @Unremovable
    public static class ServerTls implements ServerBuilderCustomizer<VertxServerBuilder> {
        private final MeshGrpc mesh;

        public ServerTls(MeshGrpc mesh) {
            this.mesh = mesh;
        }

        @Override
        public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
            MeshTls tls = mesh.tls(); // throws IllegalArgumentException naming a wrong setting: the start fails
            Optional<Path> quarkusCert = config.ssl().certificate();
            if (tls.serverTls() && quarkusCert.isEmpty()) {
                throw new IllegalStateException(MeshTls.CERT + " is set but quarkus.grpc.server.ssl.certificate is not: "
                        + "application.properties must map it (quarkus.grpc.server.ssl.certificate=${steering.tls.cert:})");
            }
            if (!tls.serverTls() && quarkusCert.isPresent()) {
                throw new IllegalStateException("quarkus.grpc.server.ssl.certificate is set but " + MeshTls.CERT
                        + " is not: configure the mesh's TLS through STEERING_TLS_* only");
            }
            if (tls.serverTls() && tls.ca() != null) {
                String ca = tls.ca().toString();
                builder.useSsl(options -> options.setTrustOptions(new PemTrustOptions().addCertPath(ca)));
            }
            LOG.infof("gRPC server %s", tls.serverTls()
                    ? "TLS with " + tls.cert() + ", client certificates " + tls.clientAuth() + (tls.ca() != null ? " (CA " + tls.ca() + ")" : "")
                    : "plaintext (STEERING_TLS_CERT not set)");
        }

        @Override
        public int priority() {
            return 100;
        }
    }

    /** Refuses new calls once the service is shutting down and counts the running ones (see drainOnShutdown). */
    @Singleton
    @GlobalInterceptor
    public static class Drain extends GracefulDrain implements Prioritized {
        @Override
        public int getPriority() {
            return RequestLog.PRIORITY - 1; // inside the request log: refused calls are logged too
        }
    }

    /**
     * Request ids and one INFO line per RPC. Priority -1: inside OpenTelemetry's server interceptor (priority 0, so
     * the call's trace and span ids are in the MDC), outside the service's own interceptors (give those a lower
     * priority, as the gateway's API-key check has, so that refused calls are logged too).
     */
    @Singleton
    @GlobalInterceptor
    public static class RequestLog extends RequestLogInterceptor implements Prioritized {
        public static final int PRIORITY = -1;

        @Override
        public int getPriority() {
            return PRIORITY;
        }
    }
}
