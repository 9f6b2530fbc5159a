package steering.vector.bootstrap;

import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import steering.common.grpc.ChannelFactory;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStore;
import steering.vector.mesh.ModelClient;
import steering.vector.mesh.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Builds the framework-free parts of vector-service from configuration (registries on the data directories,
 * clients of model-service and sae-service, the dataset directory, the operation registry) and closes them at
 * shutdown. The service itself needs no model: it is SERVING as soon as its registries are open; a dependency
 * that is down makes the calls that need it fail with UNAVAILABLE.
 */
@Singleton
public class VectorServiceHost {
    private static final Logger LOG = Logger.getLogger(VectorServiceHost.class);

    @ConfigProperty(name = "steering.vector.data-dir")
    String dataDir;

    @ConfigProperty(name = "steering.vector.approximator-dir")
    String approximatorDir;

    @ConfigProperty(name = "steering.vector.dataset-dir", defaultValue = "../shared/data")
    String datasetDir;

    @ConfigProperty(name = "steering.model-service.address", defaultValue = "127.0.0.1:50051")
    String modelAddress;

    @ConfigProperty(name = "steering.sae-service.address", defaultValue = "127.0.0.1:50052")
    String saeAddress;

    @ConfigProperty(name = "steering.vector.dependency-deadline-seconds", defaultValue = "600")
    long deadlineSeconds;

    @ConfigProperty(name = "steering.vector.operations.max-running", defaultValue = "1")
    int maxRunning;

    @ConfigProperty(name = "steering.vector.operations.max-queued", defaultValue = "8")
    int maxQueued;

    @ConfigProperty(name = "steering.vector.operations.retention-minutes", defaultValue = "1440")
    long retentionMinutes;

    @ConfigProperty(name = "steering.vector.operations-dir")
    String operationsDir;

    @Inject
    GrpcHealthStorage health;

    @Inject
    ChannelFactory channels;

    private VectorRegistry vectors;
    private ApproximatorRegistry approximators;
    private ModelClient model;
    private SaeClient sae;
    private Datasets datasets;
    private OperationRegistry operations;

    @PostConstruct
    void init() {
        try {
            vectors = new VectorRegistry(expandHome(dataDir));
            approximators = new ApproximatorRegistry(expandHome(approximatorDir));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use the vector data directories " + dataDir + ", " + approximatorDir, e);
        }
        model = new ModelClient(modelAddress, channels, deadlineSeconds);
        sae = new SaeClient(saeAddress, channels, deadlineSeconds);
        datasets = new Datasets(expandHome(datasetDir));
        operations = new OperationRegistry(maxRunning, maxQueued, Duration.ofMinutes(retentionMinutes), 1000,
                new OperationStore(expandHome(operationsDir)));
        LOG.infof("vectors in %s, effect approximators in %s; model-service at %s, sae-service at %s; datasets in %s",
                vectors.root(), approximators.root(), modelAddress, saeAddress, datasets.root());
    }

    static Path expandHome(String p) {
        String s = p.startsWith("~/") || p.equals("~") ? System.getProperty("user.home") + p.substring(1) : p;
        return Path.of(s).toAbsolutePath().normalize();
    }

    void onStart(@Observes StartupEvent event) {
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.SERVING);
        health.setStatus("steering.v1.VectorService", ServingStatus.SERVING);
    }

    void onStop(@Observes ShutdownEvent event) {
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.NOT_SERVING);
        operations.close();
        model.close();
        sae.close();
    }

    public VectorRegistry vectors() {
        return vectors;
    }

    public ApproximatorRegistry approximators() {
        return approximators;
    }

    public ModelClient model() {
        return model;
    }

    public SaeClient sae() {
        return sae;
    }

    public Datasets datasets() {
        return datasets;
    }

    public OperationRegistry operations() {
        return operations;
    }
}
