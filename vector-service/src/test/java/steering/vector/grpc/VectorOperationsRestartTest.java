package steering.vector.grpc;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.ops.OperationStreams;
import steering.common.process.ChildJvm;
import steering.v1.*;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.v1.OperationState.*;

/**
 * kill -9 of a real vector-service process (with its model- and sae-service) in the middle of an effect approximator
 * and a scale calibration: after the restart the approximator measures only the directions it had not finished and
 * succeeds under the same id; the calibration, which cannot resume, is FAILED "interrupted by restart".
 */
class VectorOperationsRestartTest {

    @Test
    void anApproximatorKeepsItsMeasuredDirectionsOverKillNine(@TempDir Path dir) throws Exception {
        String[] args = {dir.toString(), Integer.toString(ChildJvm.freePort()), Integer.toString(ChildJvm.freePort()), Integer.toString(ChildJvm.freePort())};
        Path log = dir.resolve("child.log");
        List<String> jvm = List.of("-Xmx1g");
        ChildJvm child = ChildJvm.start(VectorMeshProcess.class, jvm, log, args);
        ManagedChannel sae = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(args[2])).usePlaintext().build();
        ManagedChannel vec = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(args[3])).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        try {
            child.awaitLine("READY", Duration.ofMinutes(2));
            var saes = SaeServiceGrpc.newBlockingStub(sae).withDeadlineAfter(5, TimeUnit.MINUTES);
            Operation trained = TestMesh.await(saes.watchOperation(WatchOperationRequest.newBuilder()
                    .setId(saes.startTrainSae(TrainSaeRequest.newBuilder().setSaeId(TestMesh.SAE_ID)
                            .setHook(HookPoint.newBuilder().setName(TestMesh.SAE_HOOK))
                            .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(80))
                            .setDSae(256).setK(8).setBatchSize(256).setEpochs(4).setSplicedLossWindows(0).setTopContexts(3).setSeed(1)
                            .build()).getId()).build()));
            assertEquals(OPERATION_STATE_SUCCEEDED, trained.getState(), trained.getError().getMessage());
            var vectors = VectorServiceGrpc.newBlockingStub(vec);
            SteeringVector dog = vectors.withDeadlineAfter(2, TimeUnit.MINUTES).buildVector(BuildVectorRequest.newBuilder().setVectorId("dog")
                    .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                            .addPositive("The dog barked. The dog ran after the ball.").addNegative("The girl sang. The girl smiled."))
                    .build()).getVector();

            Operation approximator = vectors.withDeadlineAfter(2, TimeUnit.MINUTES).startTrainEffectApproximator(
                    TestMesh.approximatorRequest().setDecoderDirections(60).setMixtureDirections(0).setRandomDirections(0)
                            .setFixedScale(4).setConcurrency(2).build());
            Operation calibration = vectors.withDeadlineAfter(2, TimeUnit.MINUTES).startCalibrateScale(CalibrateScaleRequest.newBuilder()
                    .setVectorId(dog.getId()).setTargetText(VectorTargetText.newBuilder().addTexts(" dog")).setSamplesPerPrompt(16).build());
            Operation before = waitFor(vectors, approximator.getId(),
                    op -> op.getMetricsOrDefault("directions_done", 0) >= 12 || OperationStreams.isDone(op), Duration.ofMinutes(5));
            assertEquals(OPERATION_STATE_RUNNING, before.getState(), "the approximator must still run when it is killed: " + before);
            assertEquals(OPERATION_STATE_RUNNING, vectors.getOperation(GetOperationRequest.newBuilder().setId(calibration.getId()).build()).getState(),
                    "the calibration must still run when it is killed");
            child.kill();

            child = ChildJvm.start(VectorMeshProcess.class, jvm, log, args);
            child.awaitLine("READY", Duration.ofMinutes(2));
            Operation failed = vectors.getOperation(GetOperationRequest.newBuilder().setId(calibration.getId()).build());
            assertEquals(OPERATION_STATE_FAILED, failed.getState(), failed.toString());
            assertTrue(failed.getError().getMessage().startsWith("interrupted by restart"), failed.getError().getMessage());
            Operation done = waitFor(vectors, approximator.getId(), OperationStreams::isDone, Duration.ofMinutes(5));
            assertEquals(OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
            double kept = done.getMetricsOrDefault("resumed_directions", 0);
            assertTrue(kept >= 12 && kept < 60, "the directions measured before the kill are kept: " + kept);
            EffectApproximatorInfo info = done.getResult().unpack(EffectApproximatorInfo.class);
            assertEquals(TestMesh.APPROXIMATOR_ID, info.getId());
            assertEquals(60, info.getMetrics().getDirections() + (int) done.getMetricsOrDefault("skipped_directions", 0));
        } finally {
            sae.shutdownNow();
            vec.shutdownNow();
            child.close();
        }
    }

    /** GetOperation until {@code until} holds. */
    static Operation waitFor(VectorServiceGrpc.VectorServiceBlockingStub stub, String id, java.util.function.Predicate<Operation> until, Duration timeout)
            throws InterruptedException {
        return ChildJvm.poll(() -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).getOperation(GetOperationRequest.newBuilder().setId(id).build()),
                until, timeout);
    }
}
