package steering.sae.bootstrap;

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
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.common.client.ModelClient;
import steering.sae.store.SaeStore;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Builds the framework-free parts of sae-service from configuration: the SAE store on the data directory, the
 * model-service client, the corpus reader and the operation registry; closes them at shutdown.
 */
@Singleton
public class SaeServiceHost {
    private static final Logger LOG = Logger.getLogger(SaeServiceHost.class);

    @ConfigProperty(name = "steering.sae.data-dir")
    String dataDir;

    @ConfigProperty(name = "steering.model-service.address", defaultValue = "127.0.0.1:50051")
    String modelAddress;

    @ConfigProperty(name = "steering.model-service.deadline-seconds", defaultValue = "600")
    long deadlineSeconds;

    @ConfigProperty(name = "steering.sae.corpus-dir", defaultValue = "../shared/data")
    String corpusDir;

    @ConfigProperty(name = "steering.sae.readable-roots", defaultValue = "*")
    String readableRoots;

    @ConfigProperty(name = "steering.sae.max-loaded", defaultValue = "4")
    int maxLoaded;

    @ConfigProperty(name = "steering.sae.max-rows", defaultValue = "8192")
    int maxRows;

    @ConfigProperty(name = "steering.sae.operations-dir")
    String operationsDir;

    @ConfigProperty(name = "steering.sae.checkpoint-steps", defaultValue = "500")
    long checkpointSteps;

    @Inject
    GrpcHealthStorage health;

    @Inject
    ChannelFactory channels;

    private SaeStore store;
    private ModelClient model;
    private CorpusReader corpus;
    private OperationRegistry operations;
    private ReadableRoots roots;

    @PostConstruct
    void init() {
        System.setProperty("ai.djl.offline", "true"); // the native library comes from Maven, never from the network
        ai.djl.engine.Engine engine = ai.djl.engine.Engine.getEngine("PyTorch"); // load it now: fail at start, not mid-request
        LOG.infof("DJL %s engine %s", engine.getEngineName(), engine.getVersion());
        try {
            store = new SaeStore(expandHome(dataDir), maxLoaded);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use the SAE data directory " + dataDir, e);
        }
        model = new ModelClient(modelAddress, channels, deadlineSeconds);
        roots = ReadableRoots.parse(readableRoots);
        corpus = new CorpusReader(expandHome(corpusDir), roots);
        operations = ServiceHosting.operations("steering.sae", operationsDir);
        LOG.infof("SAEs in %s; model-service at %s; corpora in %s", store.root(), modelAddress, expandHome(corpusDir));
    }

    void onStart(@Observes StartupEvent event) {
        ServiceHosting.serving(health, "steering.v1.SaeService");
    }

    void onStop(@Observes ShutdownEvent event) {
        ServiceHosting.notServing(health, "steering.v1.SaeService");
        operations.close();
        store.close();
        model.close();
    }

    public SaeStore store() {
        return store;
    }

    public ModelClient model() {
        return model;
    }

    public CorpusReader corpus() {
        return corpus;
    }

    public OperationRegistry operations() {
        return operations;
    }

    public ReadableRoots roots() {
        return roots;
    }

    public long checkpointSteps() {
        return checkpointSteps;
    }

    public int maxRows() {
        return maxRows;
    }
}
