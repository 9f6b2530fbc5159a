package steering.sae.grpc;

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
 * kill -9 of a real sae-service process in the middle of its operations: after the restart a TrainSae continues
 * from its last checkpoint (every 100 steps here) under the same id and succeeds; ComputeFeatureStats and
 * EvaluateSae, which cannot resume, are FAILED "interrupted by restart"; finished operations still answer.
 */
class SaeOperationsRestartTest {
    private static final String HOOK = "blocks.2.hook_resid_post";

    @Test
    void operationsSurviveKillNine(@TempDir Path dir) throws Exception {
        int modelPort = ChildJvm.freePort(), saePort = ChildJvm.freePort();
        String[] args = {dir.toString(), Integer.toString(modelPort), Integer.toString(saePort), "100", "3"};
        Path log = dir.resolve("child.log");
        ChildJvm child = ChildJvm.start(SaeMeshProcess.class, List.of("-Xmx1g"), log, args);
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", saePort).usePlaintext().maxInboundMessageSize(64 << 20).build();
        try {
            child.awaitLine("READY", Duration.ofMinutes(2));
            var sae = SaeServiceGrpc.newBlockingStub(ch);
            // a small SAE to compute statistics of and evaluate
            Operation small = sae.startTrainSae(train("small", 200));
            Operation smallDone = waitFor(sae, small.getId(), OperationStreams::isDone, Duration.ofMinutes(3));
            assertEquals(OPERATION_STATE_SUCCEEDED, smallDone.getState(), smallDone.getError().getMessage());

            Operation big = sae.startTrainSae(train("big", 1500));
            Operation stats = sae.startComputeFeatureStats(ComputeFeatureStatsRequest.newBuilder().setSaeId("small")
                    .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(1000))
                    .setMaxTokens(400_000).build());
            // far more tokens than its default 20,000, so that it still runs when training reaches step 450 on a
            // loaded machine (it never needs to finish: the kill ends it)
            Operation eval = sae.startEvaluateSae(EvaluateSaeRequest.newBuilder().setSaeId("small")
                    .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(1000))
                    .setMaxTokens(400_000).build());
            Operation before = waitFor(sae, big.getId(), op -> op.getMetricsOrDefault("step", 0) >= 450 || OperationStreams.isDone(op), Duration.ofMinutes(5));
            assertEquals(OPERATION_STATE_RUNNING, before.getState(), "training must still run when it is killed: " + before);
            for (Operation o : List.of(stats, eval)) {
                assertEquals(OPERATION_STATE_RUNNING, sae.getOperation(id(o)).getState(), o.getKind() + " must still run when it is killed");
            }
            child.kill();

            child = ChildJvm.start(SaeMeshProcess.class, List.of("-Xmx1g"), log, args);
            child.awaitLine("READY", Duration.ofMinutes(2));
            assertEquals(OPERATION_STATE_SUCCEEDED, sae.getOperation(id(small)).getState(), "a finished operation still answers");
            for (Operation o : List.of(stats, eval)) {
                Operation after = sae.getOperation(id(o));
                assertEquals(OPERATION_STATE_FAILED, after.getState(), after.toString());
                assertEquals(io.grpc.Status.Code.ABORTED.value(), after.getError().getCode());
                assertTrue(after.getError().getMessage().startsWith("interrupted by restart"), after.getError().getMessage());
            }
            Operation resumed = waitFor(sae, big.getId(), OperationStreams::isDone, Duration.ofMinutes(5));
            assertEquals(OPERATION_STATE_SUCCEEDED, resumed.getState(), resumed.getError().getMessage());
            double from = resumed.getMetricsOrDefault("resumed_from_step", 0);
            assertTrue(from >= 400 && from % 100 == 0, "resumed from the last checkpoint at or before step "
                    + before.getMetricsOrThrow("step") + ": " + from);
            TrainSaeResult result = resumed.getResult().unpack(TrainSaeResult.class);
            assertEquals("big", result.getSae().getId());
            assertTrue(result.getMetrics().getVarianceExplained() > 0.5, "the resumed SAE reconstructs: " + result.getMetrics());
            assertEquals(2, sae.listSaes(ListSaesRequest.getDefaultInstance()).getSaesCount(), "small and big are stored");
        } finally {
            ch.shutdownNow();
            child.close();
        }
    }

    static TrainSaeRequest train(String id, long steps) {
        return TrainSaeRequest.newBuilder().setSaeId(id).setHook(HookPoint.newBuilder().setName(HOOK))
                .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(80))
                .setDSae(256).setK(8).setBatchSize(64).setSteps(steps).setSplicedLossWindows(0).setTopContexts(3).setSeed(1).build();
    }

    static GetOperationRequest id(Operation op) {
        return GetOperationRequest.newBuilder().setId(op.getId()).build();
    }

    /** GetOperation until {@code until} holds. */
    static Operation waitFor(SaeServiceGrpc.SaeServiceBlockingStub stub, String id, java.util.function.Predicate<Operation> until, Duration timeout)
            throws InterruptedException {
        return ChildJvm.poll(() -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).getOperation(GetOperationRequest.newBuilder().setId(id).build()),
                until, timeout);
    }
}
