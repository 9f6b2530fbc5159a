package steering.gateway;

import ai.djl.ndarray.NDManager;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.ops.OperationRegistry;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.gateway.mesh.MeshClients;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.v1.*;
import steering.vector.grpc.VectorServiceImpl;
import steering.common.client.ModelClient;
import steering.common.grpc.ChannelFactory;
import steering.common.client.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** gateway -> vector-service -> model-service, all real, on loopback: recipes built on the fly and registry vectors. */
class GatewayVectorServiceTest {

    @Test
    void recipesAndRegistryVectorsSteerLikeTheirInterventions(@TempDir Path dir) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        Path shared = Path.of(System.getProperty("steering.shared.dir", "../shared"));
        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel model = ModelLoader.load(shared.resolve("models/stories260K-hf"), manager, 512);
             GenerationEngine engine = new GenerationEngine(model, 8, 64);
             OperationRegistry ops = new OperationRegistry(1, 4, Duration.ofMinutes(5), 10)) {
            Server modelServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new ModelServiceImpl(engine, 512)).build().start();
            String modelAddress = "127.0.0.1:" + modelServer.getPort();
            Server vectorServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new VectorServiceImpl(new VectorRegistry(dir.resolve("vectors")), new ApproximatorRegistry(dir.resolve("approx")),
                            new ModelClient(modelAddress, ChannelFactory.plaintext(), 60), new SaeClient("127.0.0.1:1", ChannelFactory.plaintext(), 60), new Datasets(shared.resolve("data")), ops))
                    .build().start();
            MeshClients mesh = new MeshClients(modelAddress, "127.0.0.1:" + vectorServer.getPort());
            Server gateway = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new SteeringServiceImpl(mesh)).build().start();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", gateway.getPort()).usePlaintext().build();
            try {
                var stub = SteeringGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.MINUTES);
                BuildVectorRequest recipe = BuildVectorRequest.newBuilder().setVectorId("dog")
                        .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                                .addPositive("The dog barked. The dog ran after the ball.")
                                .addNegative("The girl sang. The girl smiled at her mom.")).build();

                // pass-through build and list
                SteeringVector built = stub.buildVector(recipe).getVector();
                assertEquals("dog", built.getId());
                assertEquals(1.0, built.getNorm(), 1e-4, "caa_mean vectors are unit-normalized");
                assertTrue(stub.listVectors(ListVectorsRequest.getDefaultInstance()).getVectorsList().stream().anyMatch(v -> v.getId().equals("dog")));

                SamplingParams greedy = SamplingParams.newBuilder().setMaxTokens(24).setIgnoreEos(true).build();
                Prompt prompt = Prompt.newBuilder().setText("Once upon a time").build();
                String plain = text(stub.generate(SteeredGenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy).build()));
                String byId = text(stub.generate(SteeredGenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy)
                        .addSteering(SteeringSpec.newBuilder().setVectorId("dog").setScale(6)).build()));
                String inline = text(stub.generate(SteeredGenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy)
                        .addSteering(SteeringSpec.newBuilder().setIntervention(built.getIntervention()).setScale(6)).build()));
                String fromRecipe = text(stub.generate(SteeredGenerateRequest.newBuilder().setPrompt(prompt).setSampling(greedy)
                        .addSteering(SteeringSpec.newBuilder().setRecipe(recipe.toBuilder().setVectorId("dog-2").setSave(false)).setScale(6)).build()));
                assertNotEquals(plain, byId, "the registry vector steers");
                assertEquals(inline, byId, "a vector id resolves to the stored intervention");
                assertEquals(byId, fromRecipe, "a recipe built on the fly gives the same vector");

                StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () -> text(stub.generate(SteeredGenerateRequest.newBuilder()
                        .setPrompt(prompt).addSteering(SteeringSpec.newBuilder().setVectorId("no-such-vector")).build())));
                assertEquals(Status.Code.NOT_FOUND, missing.getStatus().getCode());
            } finally {
                ch.shutdownNow();
                gateway.shutdownNow();
                mesh.close();
                vectorServer.shutdownNow();
                modelServer.shutdownNow();
            }
        }
    }

    private static String text(Iterator<GenerateResponse> it) {
        StringBuilder sb = new StringBuilder();
        it.forEachRemaining(r -> sb.append(r.getTextDelta()));
        return sb.toString();
    }
}
