package steering.vector.bootstrap;

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
import steering.common.quarkus.ServiceHosting;
import static steering.common.quarkus.ServiceHosting.expandHome;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.io.IOException;
import java.io.UncheckedIOException;

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
        operations = ServiceHosting.operations("steering.vector", operationsDir);
        LOG.infof("vectors in %s, effect approximators in %s; model-service at %s, sae-service at %s; datasets in %s",
                vectors.root(), approximators.root(), modelAddress, saeAddress, datasets.root());
    }

    void onStart(@Observes StartupEvent event) {
        ServiceHosting.serving(health, "steering.v1.VectorService");
    }

    void onStop(@Observes ShutdownEvent event) {
        ServiceHosting.notServing(health, "steering.v1.VectorService");
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
