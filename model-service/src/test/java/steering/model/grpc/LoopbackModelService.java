package steering.model.grpc;

import ai.djl.ndarray.NDManager;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import steering.model.engine.GenerationEngine;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.v1.ModelServiceGrpc;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A real model-service on a loopback port, with a channel to it: what integration tests talk to. */
public final class LoopbackModelService implements AutoCloseable {
    public final NDManager manager;
    public final LoadedModel model;
    public final GenerationEngine engine;
    public final Server server;
    public final ManagedChannel channel;

    public LoopbackModelService(Path modelPath, int maxBatch, int maxContext) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        manager = NDManager.newBaseManager();
        model = ModelLoader.load(modelPath, manager, maxContext);
        engine = new GenerationEngine(model, maxBatch, 64);
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(64 << 20) // as quarkus.grpc.server.max-inbound-message-size
                .addService(new ModelServiceImpl(engine, maxContext))
                .build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    public ModelServiceGrpc.ModelServiceBlockingStub blocking() {
        return ModelServiceGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    public ModelServiceGrpc.ModelServiceStub async() {
        return ModelServiceGrpc.newStub(channel);
    }

    @Override
    public void close() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        engine.close();
        model.close();
        manager.close();
    }
}
