package steering.sae.grpc;

import steering.common.grpc.ChannelFactory;
import ai.djl.ndarray.NDManager;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import steering.common.ops.OperationRegistry;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.common.client.ModelClient;
import steering.sae.store.SaeStore;
import steering.v1.SaeServiceGrpc;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real model-service (stories260K) and a real sae-service, each on its own loopback port, talking gRPC to each
 * other, with a channel for the test to talk to sae-service.
 */
public final class LoopbackMesh implements AutoCloseable {
    public final NDManager manager;
    public final LoadedModel model;
    public final GenerationEngine engine;
    public final Server modelServer;
    public final ModelClient modelClient;
    public final SaeStore store;
    public final OperationRegistry operations;
    public final Server saeServer;
    public final ManagedChannel channel;
    public final Path dataDir;

    public static Path shared() {
        return Path.of(System.getProperty("steering.shared.dir", "../shared")).toAbsolutePath().normalize();
    }

    public LoopbackMesh(Path dataDir) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        this.dataDir = dataDir;
        manager = NDManager.newBaseManager();
        model = ModelLoader.load(shared().resolve("models/stories260K-hf"), manager, 512);
        engine = new GenerationEngine(model, 4, 64);
        modelServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new ModelServiceImpl(engine, 512)).build().start();
        String address = "127.0.0.1:" + modelServer.getPort();
        modelClient = new ModelClient(address, ChannelFactory.plaintext(), 120);
        store = new SaeStore(dataDir, 4);
        operations = new OperationRegistry(1, 4, Duration.ofHours(1), 100);
        CorpusReader corpus = new CorpusReader(shared().resolve("data"), ReadableRoots.anywhere());
        saeServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(64 << 20)
                .addService(new SaeServiceImpl(store, modelClient, corpus, operations, ReadableRoots.anywhere(), 8192))
                .build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", saeServer.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
    }

    public SaeServiceGrpc.SaeServiceBlockingStub blocking() {
        return SaeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    public SaeServiceGrpc.SaeServiceStub async() {
        return SaeServiceGrpc.newStub(channel);
    }

    @Override
    public void close() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        saeServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        operations.close();
        store.close();
        modelClient.close();
        modelServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        engine.close();
        model.close();
        manager.close();
    }
}
