package steering.gateway;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.Test;
import steering.common.ops.OperationRegistry;
import steering.common.tensor.TensorCodec;
import steering.gateway.eval.EmbeddingJudge;
import steering.gateway.grpc.SteeringServiceImpl;
import steering.v1.*;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The documented sizes on a model-service with its default limits (8 sequences a batch, 64 queued): Compare with
 * 2 configs x 64 samples and StartEvaluate with 100 samples used to fail at once with RESOURCE_EXHAUSTED; paced,
 * they succeed, and another client's request made meanwhile is served while they run.
 */
class PacingTest {

    @Test
    void documentedSizesSucceedAndShareTheModel() throws Exception {
        Path stories = Path.of(System.getProperty("steering.shared.dir", "../shared"), "models/stories260K-hf");
        try (EvaluateAndJudgesTest.Mesh mesh = EvaluateAndJudgesTest.Mesh.startWithQueue(stories, 8, 64);
             OperationRegistry ops = new OperationRegistry(1, 4, Duration.ofMinutes(5), 10)) {
            EmbeddingJudge judge = new EmbeddingJudge();
            Server gw = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new SteeringServiceImpl(mesh.clients(), ops, kind -> judge)).build().start();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", gw.getPort()).usePlaintext().build();
            try {
                var stub = SteeringGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.MINUTES);
                float[] v = new float[64];
                v[3] = 1;
                SteeringSpec spec = SteeringSpec.newBuilder().setIntervention(Intervention.newBuilder()
                        .setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                        .setVector(TensorCodec.ofFloats(v, v.length)).setScale(4).setPositions(PositionPolicy.ALL)).build();
                SamplingParams sampling = SamplingParams.newBuilder().setMaxTokens(12).setTemperature(0.8f).setSeed(1).setIgnoreEos(true).build();
                Prompt prompt = Prompt.newBuilder().setText("Once upon a time").build();

                CompletableFuture<CompareResponse> compare = CompletableFuture.supplyAsync(() -> stub.compare(CompareRequest.newBuilder()
                        .setPrompt(prompt).setSampling(sampling).setSamples(64)
                        .addConfigs(SteeringConfig.newBuilder().setLabel("plain"))
                        .addConfigs(SteeringConfig.newBuilder().setLabel("steered").addSteering(spec)).build()));
                Thread.sleep(300);
                // another client, straight to model-service, while the comparison runs
                ManagedChannel direct = NettyChannelBuilder.forAddress("127.0.0.1", mesh.server().getPort()).usePlaintext().build();
                Iterator<GenerateResponse> other = ModelServiceGrpc.newBlockingStub(direct)
                        .withDeadlineAfter(2, TimeUnit.MINUTES).generate(GenerateRequest.newBuilder().setPrompt(prompt).setSampling(sampling).build());
                int otherTokens = 0;
                while (other.hasNext()) otherTokens += other.next().getTokenIdsCount();
                direct.shutdownNow();
                assertEquals(12, otherTokens, "the other client is served");
                assertFalse(compare.isDone(), "... while the comparison still runs (it does not wait for all 128 generations)");
                CompareResponse r = compare.get(5, TimeUnit.MINUTES);
                assertEquals(128, r.getGenerationsCount());
                assertTrue(r.getGenerationsList().stream().allMatch(g -> g.getTokenIdsCount() == 12));

                Operation op = stub.startEvaluate(EvaluateRequest.newBuilder().setPrompt(prompt).setCriterion("A story about a dog.")
                        .setSamples(100).setSampling(sampling)
                        .addConfigs(EvaluatedConfig.newBuilder().setLabel("e3").addSteering(spec).addScales(4)).build());
                Iterator<Operation> watch = stub.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
                Operation last = op;
                while (watch.hasNext()) last = watch.next();
                assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, last.getState(), last.getError().getMessage());
                assertEquals(100, last.getResult().unpack(EvaluateResult.class).getPoints(0).getSamplesCount());
            } finally {
                ch.shutdownNow();
                gw.shutdownNow();
            }
        }
    }
}
