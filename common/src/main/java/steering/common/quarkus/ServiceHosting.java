package steering.common.quarkus;

import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStore;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What the services' bootstrap hosts (model-service's engine producer, sae-service's and vector-service's hosts)
 * share, so that each host keeps only what is its own: configured paths, the operation registry of long jobs, and
 * health.
 */
public final class ServiceHosting {
    private ServiceHosting() {}

    /** A configured directory with a leading {@code ~} meaning the user's home, absolute and normalised. */
    public static Path expandHome(String p) {
        String s = p.startsWith("~/") || p.equals("~") ? System.getProperty("user.home") + p.substring(1) : p;
        return Path.of(s).toAbsolutePath().normalize();
    }

    /**
     * The operation registry of a service's long jobs, persisted in {@code dir}, from its settings
     * {@code <prefix>.operations.max-running} (default 1), {@code .max-queued} (8) and {@code .retention-minutes}
     * (1440); it keeps up to 1000 ended operations.
     *
     * @param prefix e.g. "steering.sae"
     */
    public static OperationRegistry operations(String prefix, String dir) {
        Config config = ConfigProvider.getConfig();
        int maxRunning = config.getOptionalValue(prefix + ".operations.max-running", Integer.class).orElse(1);
        int maxQueued = config.getOptionalValue(prefix + ".operations.max-queued", Integer.class).orElse(8);
        long retention = config.getOptionalValue(prefix + ".operations.retention-minutes", Long.class).orElse(1440L);
        return new OperationRegistry(maxRunning, maxQueued, Duration.ofMinutes(retention), 1000,
                new OperationStore(expandHome(dir)));
    }

    /** Health SERVING for the server and for {@code grpcService} ("steering.v1.SaeService"). */
    public static void serving(GrpcHealthStorage health, String grpcService) {
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.SERVING);
        health.setStatus(grpcService, ServingStatus.SERVING);
    }

    /** Health NOT_SERVING for the server and for {@code grpcService}. */
    public static void notServing(GrpcHealthStorage health, String grpcService) {
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.NOT_SERVING);
        health.setStatus(grpcService, ServingStatus.NOT_SERVING);
    }
}
