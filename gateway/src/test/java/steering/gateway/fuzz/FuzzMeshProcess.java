package steering.gateway.fuzz;

import ai.djl.ndarray.NDManager;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.common.grpc.ChannelFactory;
import steering.common.ops.OperationRegistry;
import steering.gateway.eval.EmbeddingJudge;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.gateway.mesh.MeshClients;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.sae.core.Architecture;
import steering.sae.core.Normalization;
import steering.sae.core.SaeConfig;
import steering.sae.core.SaeWeights;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.sae.grpc.SaeServiceImpl;
import steering.sae.store.SaeRecord;
import steering.sae.store.SaeStore;
import steering.v1.SaeSourceFormat;
import steering.vector.grpc.VectorServiceImpl;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Random;

/**
 * The fuzz suite's target, in a child JVM so that a request that kills a process is seen as a death, not as the
 * test's own crash: model-service (stories260K), sae-service (with one SAE, {@code fuzz-sae}), vector-service and the
 * gateway (with evaluations and the embedding judge), each a real gRPC server on the given loopback port, as the
 * services' own integration tests serve them. Prints READY; runs until killed.
 * Arguments: data directory, then the model, sae, vector and gateway ports.
 */
public final class FuzzMeshProcess {
    public static final String SAE_ID = "fuzz-sae";
    public static final String SAE_HOOK = "blocks.2.hook_resid_post";

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        Path dir = Path.of(args[0]);
        Path shared = Path.of(System.getProperty("steering.shared.dir", "../shared")).toAbsolutePath().normalize();
        NDManager manager = NDManager.newBaseManager();
        LoadedModel model = ModelLoader.load(shared.resolve("models/stories260K-hf"), manager, 512);
        GenerationEngine engine = new GenerationEngine(model, 8, 64);
        Server modelServer = serve(Integer.parseInt(args[1]), new ModelServiceImpl(engine, 512));
        String modelAddress = "127.0.0.1:" + args[1];

        SaeStore saes = new SaeStore(dir.resolve("saes"), 4);
        saes.save(randomSae(64, 128), randomWeights(64, 128), null, true);
        ModelClient saeModel = new ModelClient(modelAddress, ChannelFactory.plaintext(), 60);
        ReadableRoots roots = ReadableRoots.parse(shared + "," + dir);
        serve(Integer.parseInt(args[2]), new SaeServiceImpl(saes, saeModel, new CorpusReader(shared.resolve("data"), roots),
                new OperationRegistry(1, 4, Duration.ofMinutes(10), 100), roots, 8192));

        serve(Integer.parseInt(args[3]), new VectorServiceImpl(new VectorRegistry(dir.resolve("vectors")),
                new ApproximatorRegistry(dir.resolve("approximators")), new ModelClient(modelAddress, ChannelFactory.plaintext(), 60),
                new SaeClient("127.0.0.1:" + args[2], ChannelFactory.plaintext(), 60), new Datasets(shared.resolve("data")),
                new OperationRegistry(1, 4, Duration.ofMinutes(10), 100)));

        EmbeddingJudge judge = new EmbeddingJudge();
        serve(Integer.parseInt(args[4]), new SteeringServiceImpl(new MeshClients(modelAddress, "127.0.0.1:" + args[3]),
                new OperationRegistry(1, 4, Duration.ofMinutes(10), 100), kind -> judge));
        System.out.println("READY");
        modelServer.awaitTermination();
    }

    private static Server serve(int port, io.grpc.BindableService service) throws java.io.IOException {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).maxInboundMessageSize(64 << 20)
                .addService(service).build().start();
    }

    static SaeRecord randomSae(int d, int m) {
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, d, m, 8, true, Normalization.NONE, false, "stories260K-hf", SAE_HOOK,
                true, 128, "random");
        return new SaeRecord(SAE_ID, cfg, SaeSourceFormat.SAE_SOURCE_FORMAT_SAELENS, "random weights for the fuzz suite",
                Instant.now(), Map.of(), Map.of());
    }

    static SaeWeights randomWeights(int d, int m) {
        Random r = new Random(1);
        float[] enc = new float[d * m], dec = new float[m * d];
        for (int i = 0; i < enc.length; i++) enc[i] = (float) r.nextGaussian() * 0.1f;
        for (int j = 0; j < m; j++) {
            double n = 0;
            for (int i = 0; i < d; i++) n += Math.pow(dec[j * d + i] = (float) r.nextGaussian(), 2);
            for (int i = 0; i < d; i++) dec[j * d + i] /= (float) Math.sqrt(n);
        }
        return new SaeWeights(enc, new float[m], dec, new float[d], null, null);
    }
}
