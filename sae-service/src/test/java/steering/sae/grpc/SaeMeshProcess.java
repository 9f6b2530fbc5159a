package steering.sae.grpc;

import steering.common.grpc.ChannelFactory;
import ai.djl.ndarray.NDManager;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStore;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.common.client.ModelClient;
import steering.sae.store.SaeStore;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The child process of the restart tests: model-service (stories260K) and sae-service on the given ports, the
 * SAEs and the operations' records in the given directory. Prints READY when both serve; runs until killed.
 * Arguments: data directory, model port, sae port, checkpoint steps, operations run at once.
 */
public final class SaeMeshProcess {
    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        Path dir = Path.of(args[0]);
        int modelPort = Integer.parseInt(args[1]), saePort = Integer.parseInt(args[2]);
        long checkpointSteps = Long.parseLong(args[3]);
        int running = Integer.parseInt(args[4]);
        NDManager manager = NDManager.newBaseManager();
        LoadedModel model = ModelLoader.load(LoopbackMesh.shared().resolve("models/stories260K-hf"), manager, 512);
        GenerationEngine engine = new GenerationEngine(model, 4, 64);
        Server modelServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", modelPort))
                .addService(new ModelServiceImpl(engine, 512)).build().start();
        ModelClient client = new ModelClient("127.0.0.1:" + modelPort, ChannelFactory.plaintext(), 120);
        OperationRegistry operations = new OperationRegistry(running, 8, Duration.ofHours(1), 100,
                new OperationStore(dir.resolve("operations")));
        CorpusReader corpus = new CorpusReader(LoopbackMesh.shared().resolve("data"), ReadableRoots.anywhere());
        Server saeServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", saePort)).maxInboundMessageSize(64 << 20)
                .addService(new SaeServiceImpl(new SaeStore(dir.resolve("saes"), 4), client, corpus, operations,
                        ReadableRoots.anywhere(), 8192, checkpointSteps))
                .build().start();
        System.out.println("READY");
        saeServer.awaitTermination();
        modelServer.awaitTermination();
    }
}
