package steering.model.bootstrap;

import steering.common.quarkus.ServiceHosting;

import ai.djl.ndarray.NDManager;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import steering.model.engine.GenerationEngine;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.model.runtime.ComputeSettings;

import java.nio.file.Path;

/**
 * Loads the configured model in the background at start-up. Until it is loaded the gRPC health check answers
 * NOT_SERVING and the service's calls UNAVAILABLE, so an orchestrator routes no traffic to a half-started pod.
 */
@ApplicationScoped
public class ModelEngineProducer {
    private static final Logger LOG = Logger.getLogger(ModelEngineProducer.class);

    @ConfigProperty(name = "steering.model.path")
    String modelPath;

    @ConfigProperty(name = "steering.model.max-context", defaultValue = "2048")
    int maxContext;

    @ConfigProperty(name = "steering.model.max-batch", defaultValue = "8")
    int maxBatch;

    @ConfigProperty(name = "steering.model.queue-limit", defaultValue = "64")
    int queueLimit;

    /** prompt tokens prefilled per engine step, shared by the waiting generations (STEERING_MODEL_PREFILL_CHUNK) */
    @ConfigProperty(name = "steering.model.prefill-chunk", defaultValue = "" + GenerationEngine.DEFAULT_PREFILL_CHUNK)
    int prefillChunk;

    /** auto|cpu|gpu (environment: STEERING_DEVICE) */
    @ConfigProperty(name = "steering.device", defaultValue = "auto")
    String device;

    /** auto|float32|float16|bfloat16 (environment: STEERING_MODEL_DTYPE); see ComputeSettings */
    @ConfigProperty(name = "steering.model.dtype", defaultValue = "auto")
    String dtype;

    /** auto|on|off (environment: STEERING_MODEL_INT8_DECODE): 8-bit products for a lone sequence's decode steps */
    @ConfigProperty(name = "steering.model.int8-decode", defaultValue = "auto")
    String int8Decode;

    @Inject
    GrpcHealthStorage health;

    @Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    private NDManager manager;
    private volatile GenerationEngine engine;

    void onStart(@Observes StartupEvent event) {
        // the CPU native library comes from Maven, never from the network; the gpu build's image says otherwise
        // (DJL_OFFLINE=false, docs/deploy.md "GPU"), and an explicit setting wins
        if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        ServiceHosting.notServing(health, "steering.v1.ModelService");
        Thread loader = new Thread(this::load, "model-loader");
        loader.setDaemon(true);
        loader.start();
    }

    private void load() {
        long start = System.nanoTime();
        try {
            manager = NDManager.newBaseManager();
            ComputeSettings compute = ComputeSettings.resolve(device, dtype, int8Decode);
            LoadedModel model = ModelLoader.load(Path.of(modelPath), manager, maxContext, compute);
            engine = new GenerationEngine(model, maxBatch, queueLimit, prefillChunk, new EngineMetrics(registry, this::engine));
            System.gc(); // the weights now live in native memory: return the loader's temporary float arrays
            LOG.infof("loaded %s (%s, %d layers, d_model %d) from %s in %.1f s on %s, %.0f MB of weights",
                    model.config().modelId(), model.config().architecture(), model.config().nLayers(),
                    model.config().dModel(), modelPath, (System.nanoTime() - start) / 1e9, compute.describe(),
                    model.transformer().weightBytes() / 1e6);
            ServiceHosting.serving(health, "steering.v1.ModelService");
        } catch (Throwable t) {
            // say so and stop: a service that stays up without a model only makes its callers wait for it
            LOG.errorf(t, "could not load the model from %s; exiting", modelPath);
            ServiceHosting.notServing(health, "steering.v1.ModelService");
            Quarkus.asyncExit(1);
        }
    }

    /** The engine, or null while the model is loading (or failed to load). */
    public GenerationEngine engine() {
        return engine;
    }

    void onStop(@Observes ShutdownEvent event) {
        GenerationEngine e = engine;
        if (e != null) {
            e.close();
            e.model().close();
        }
        if (manager != null) manager.close();
    }
}
