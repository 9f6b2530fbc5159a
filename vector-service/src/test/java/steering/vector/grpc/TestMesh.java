package steering.vector.grpc;

import steering.common.grpc.ChannelFactory;
import ai.djl.ndarray.NDManager;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStore;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.sae.grpc.SaeServiceImpl;
import steering.sae.store.SaeStore;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The real mesh on loopback ports, shared by every integration test class of the run (surefire runs them in one
 * JVM): model-service with stories260K, sae-service, and vector-service, each a plain grpc-java server talking gRPC
 * to the others. An SAE trained on the model's own activations and an effect approximator are made once, on demand.
 */
public final class TestMesh {
    public static final String SAE_HOOK = "blocks.2.hook_resid_post";
    public static final String SAE_ID = "stories-sae";
    public static final String APPROXIMATOR_ID = "stories-effects";

    private static TestMesh instance;

    public final Path dir;
    public final NDManager manager;
    public final LoadedModel model;
    public final GenerationEngine engine;
    public final Server modelServer;
    public final String modelAddress;
    /** the calls model-service received (from vector-service, sae-service and the tests) */
    final CallCounter modelCalls = new CallCounter();
    final ModelClient saeModelClient;
    final SaeStore saeStore;
    final OperationRegistry saeOps;
    public final Server saeServer;
    public final String saeAddress;
    public final VectorRegistry vectors;
    public final ApproximatorRegistry approximators;
    public final OperationRegistry vectorOps;
    public final ModelClient modelClient;
    public final SaeClient saeClient;
    public final Server vectorServer;
    public final ManagedChannel vectorChannel, modelChannel, saeChannel;
    private EffectApproximatorInfo approximator;
    private boolean saeTrained;
    public double saeTrainSeconds, approximatorSeconds;

    public static Path shared() {
        return Path.of(System.getProperty("steering.shared.dir", "../shared")).toAbsolutePath().normalize();
    }

    private final boolean deleteOnClose;

    public static synchronized TestMesh get() throws Exception {
        if (instance == null) {
            instance = new TestMesh(shared().resolve("models/stories260K-hf"), 512, 8, Files.createTempDirectory("vector-service-test"), true);
            Runtime.getRuntime().addShutdownHook(new Thread(instance::close));
        }
        return instance;
    }

    /** A mesh over another model, keeping its SAEs, vectors and approximators in {@code dir}. */
    public TestMesh(Path modelPath, int maxContext, int maxBatch, Path dir, boolean deleteOnClose) throws Exception {
        this(modelPath, maxContext, maxBatch, dir, deleteOnClose, new int[3], 1, false);
    }

    /**
     * @param ports      model-, sae- and vector-service's ports (0: any free one)
     * @param running    operations each service runs at once
     * @param persistent the operation registries keep their records in {@code dir}/operations (restart tests)
     */
    public TestMesh(Path modelPath, int maxContext, int maxBatch, Path dir, boolean deleteOnClose, int[] ports, int running,
                    boolean persistent) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        this.dir = dir;
        this.deleteOnClose = deleteOnClose;
        manager = NDManager.newBaseManager();
        model = ModelLoader.load(modelPath, manager, maxContext);
        engine = new GenerationEngine(model, maxBatch, 256);
        modelServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", ports[0]))
                .addService(io.grpc.ServerInterceptors.intercept(new ModelServiceImpl(engine, maxContext), modelCalls)).build().start();
        modelAddress = "127.0.0.1:" + modelServer.getPort();

        saeModelClient = new ModelClient(modelAddress, ChannelFactory.plaintext(), 120);
        saeStore = new SaeStore(dir.resolve("saes"), 4);
        saeOps = persistent ? new OperationRegistry(running, 4, Duration.ofHours(1), 100, new OperationStore(dir.resolve("operations/sae")))
                : new OperationRegistry(running, 4, Duration.ofHours(1), 100);
        CorpusReader corpus = new CorpusReader(shared().resolve("data"), ReadableRoots.anywhere());
        saeServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", ports[1])).maxInboundMessageSize(64 << 20)
                .addService(new SaeServiceImpl(saeStore, saeModelClient, corpus, saeOps, ReadableRoots.anywhere(), 8192))
                .build().start();
        saeAddress = "127.0.0.1:" + saeServer.getPort();

        vectors = new VectorRegistry(dir.resolve("vectors"));
        approximators = new ApproximatorRegistry(dir.resolve("effect-approximators"));
        vectorOps = persistent ? new OperationRegistry(running, 4, Duration.ofHours(1), 100, new OperationStore(dir.resolve("operations/vector")))
                : new OperationRegistry(running, 4, Duration.ofHours(1), 100);
        modelClient = new ModelClient(modelAddress, ChannelFactory.plaintext(), 120);
        saeClient = new SaeClient(saeAddress, ChannelFactory.plaintext(), 120);
        vectorServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", ports[2])).maxInboundMessageSize(64 << 20)
                .addService(new VectorServiceImpl(vectors, approximators, modelClient, saeClient,
                        new Datasets(shared().resolve("data")), vectorOps))
                .build().start();
        vectorChannel = NettyChannelBuilder.forAddress("127.0.0.1", vectorServer.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        modelChannel = NettyChannelBuilder.forAddress("127.0.0.1", modelServer.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        saeChannel = NettyChannelBuilder.forAddress("127.0.0.1", saeServer.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
    }

    public VectorServiceGrpc.VectorServiceBlockingStub vectors() {
        return VectorServiceGrpc.newBlockingStub(vectorChannel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    public ModelServiceGrpc.ModelServiceBlockingStub models() {
        return ModelServiceGrpc.newBlockingStub(modelChannel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    public SaeServiceGrpc.SaeServiceBlockingStub saes() {
        return SaeServiceGrpc.newBlockingStub(saeChannel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    /** A TopK SAE trained through sae-service on the model's own activations at SAE_HOOK (about 10 s). */
    public synchronized String sae() {
        if (saeTrained) return SAE_ID;
        long t0 = System.nanoTime();
        Operation op = saes().startTrainSae(TrainSaeRequest.newBuilder()
                .setSaeId(SAE_ID).setHook(HookPoint.newBuilder().setName(SAE_HOOK))
                .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(80))
                .setDSae(256).setK(8).setBatchSize(256).setEpochs(8).setSplicedLossWindows(0).setTopContexts(3).setSeed(1)
                .build());
        Operation done = await(SaeServiceGrpc.newBlockingStub(saeChannel).withDeadlineAfter(300, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()));
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        saeTrainSeconds = (System.nanoTime() - t0) / 1e9;
        saeTrained = true;
        return SAE_ID;
    }

    /** An effect approximator for the SAE, trained once through vector-service. */
    public synchronized EffectApproximatorInfo approximator() throws Exception {
        if (approximator != null) return approximator;
        sae();
        long t0 = System.nanoTime();
        Operation op = vectors().startTrainEffectApproximator(approximatorRequest().build());
        Operation done = await(VectorServiceGrpc.newBlockingStub(vectorChannel).withDeadlineAfter(300, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()));
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        approximator = done.getResult().unpack(EffectApproximatorInfo.class);
        approximatorSeconds = (System.nanoTime() - t0) / 1e9;
        return approximator;
    }

    /** The protocol the tests train with: small, so that it runs in well under a minute on two cores. */
    public static TrainEffectApproximatorRequest.Builder approximatorRequest() {
        return TrainEffectApproximatorRequest.newBuilder()
                .setApproximatorId(APPROXIMATOR_ID).setSaeId(SAE_ID)
                .setDecoderDirections(160).setMixtureDirections(64).setRandomDirections(16)
                .addPrompts("Once upon a time").addPrompts("One day").addPrompts("Tom and Lily").addPrompts("The little dog")
                .setSamplesPerPrompt(2).setBaselineSamplesPerPrompt(16).setSequenceLength(24)
                .setLossDataset("tinystories-1000").setLossChunks(2).setLossChunkTokens(24)
                .setTargetLossIncrease(1.0).setSeed(7);
    }

    public static Operation await(Iterator<Operation> it) {
        List<Operation> all = new ArrayList<>();
        while (it.hasNext()) all.add(it.next());
        return all.get(all.size() - 1);
    }

    public void close() {
        try {
            vectorChannel.shutdownNow();
            modelChannel.shutdownNow();
            saeChannel.shutdownNow();
            vectorServer.shutdownNow();
            vectorOps.close();
            modelClient.close();
            saeClient.close();
            saeServer.shutdownNow();
            saeOps.close();
            saeStore.close();
            saeModelClient.close();
            modelServer.shutdownNow();
            engine.close();
            model.close();
            manager.close();
        } catch (Exception ignored) {
            // shutting down
        } finally {
            if (deleteOnClose) steering.vector.registry.ArtifactStore.deleteTree(dir);
        }
    }
}
