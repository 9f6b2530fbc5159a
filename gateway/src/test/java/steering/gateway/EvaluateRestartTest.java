package steering.gateway;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.ops.OperationStreams;
import steering.common.process.ChildJvm;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.v1.OperationState.*;

/** kill -9 of a real gateway process mid-evaluation: after the restart the evaluation keeps its finished points. */
class EvaluateRestartTest {

    @Test
    void anEvaluationKeepsItsFinishedPointsOverKillNine(@TempDir Path dir) throws Exception {
        String[] args = {dir.resolve("operations").toString(), Integer.toString(ChildJvm.freePort()), Integer.toString(ChildJvm.freePort())};
        Path log = dir.resolve("child.log");
        List<String> jvm = List.of("-Xmx1g");
        ChildJvm child = ChildJvm.start(GatewayMeshProcess.class, jvm, log, args);
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(args[2])).usePlaintext().build();
        try {
            child.awaitLine("READY", Duration.ofMinutes(2));
            var stub = SteeringGrpc.newBlockingStub(ch);
            float[] v = new float[64];
            v[3] = 1;
            SteeringSpec spec = SteeringSpec.newBuilder().setIntervention(Intervention.newBuilder()
                    .setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                    .setVector(TensorCodec.ofFloats(v, v.length)).setPositions(PositionPolicy.ALL)).build();
            EvaluatedConfig.Builder config = EvaluatedConfig.newBuilder().setLabel("e3").addSteering(spec);
            for (int s = 0; s < 10; s++) config.addScales(s);
            Operation op = stub.withDeadlineAfter(1, TimeUnit.MINUTES).startEvaluate(EvaluateRequest.newBuilder()
                    .setPrompt(Prompt.newBuilder().setText("Once upon a time")).setCriterion("A story about a dog.").setSamples(4)
                    .setSampling(SamplingParams.newBuilder().setMaxTokens(32).setTemperature(0.8f).setSeed(1).setIgnoreEos(true))
                    .addConfigs(config).build());
            Operation before = ChildJvm.poll(() -> get(stub, op.getId()), o -> o.getProgress() >= 0.3 || OperationStreams.isDone(o), Duration.ofMinutes(5));
            assertEquals(OPERATION_STATE_RUNNING, before.getState(), "the evaluation must still run when it is killed: " + before);
            child.kill();

            child = ChildJvm.start(GatewayMeshProcess.class, jvm, log, args);
            child.awaitLine("READY", Duration.ofMinutes(2));
            Operation done = ChildJvm.poll(() -> get(stub, op.getId()), OperationStreams::isDone, Duration.ofMinutes(5));
            assertEquals(OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
            double kept = done.getMetricsOrDefault("resumed_points", 0);
            assertTrue(kept >= 3 && kept < 10, "the points finished before the kill are kept: " + kept);
            EvaluateResult result = done.getResult().unpack(EvaluateResult.class);
            assertEquals(10, result.getPointsCount());
            for (int s = 0; s < 10; s++) assertEquals(s, result.getPoints(s).getScale(), "the points in the sweep's order");
            assertEquals(1, result.getBestCount());
        } finally {
            ch.shutdownNow();
            child.close();
        }
    }

    private static Operation get(SteeringGrpc.SteeringBlockingStub stub, String id) {
        return stub.withDeadlineAfter(10, TimeUnit.SECONDS).getOperation(GetOperationRequest.newBuilder().setId(id).build());
    }
}
