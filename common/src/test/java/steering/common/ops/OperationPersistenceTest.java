package steering.common.ops;

import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.v1.Operation;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.v1.OperationState.*;

/**
 * Operations outlive their registry: records on disk, finished ones readable after a restart, interrupted ones
 * resumed from their checkpoint or failed. (The services' kill -9 tests do the same with real processes.)
 */
class OperationPersistenceTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static OperationRegistry registry(Path dir) {
        return new OperationRegistry(1, 4, Duration.ofHours(1), 100, new OperationStore(dir));
    }

    @Test
    void finishedOperationsAreReadableAfterARestart(@TempDir Path dir) throws Exception {
        String ok, bad;
        try (OperationRegistry r = registry(dir)) {
            ok = r.start("Echo", StringValue.of("hello"), ctx -> {
                ctx.update(0.5, "half", java.util.Map.of("fvu", 0.25));
                return StringValue.of("done");
            }).getId();
            bad = r.start("Bad", ctx -> {
                throw steering.common.grpc.Errors.invalid("k", "7 is outside [1, 4]");
            }).getId();
            r.await(ok, WAIT);
            r.await(bad, WAIT);
        }
        try (OperationRegistry r = registry(dir)) {
            r.recoverInterrupted();
            Operation a = r.get(ok);
            assertEquals(OPERATION_STATE_SUCCEEDED, a.getState());
            assertEquals("done", a.getResult().unpack(StringValue.class).getValue());
            assertEquals(0.25, a.getMetricsOrThrow("fvu"));
            Operation b = r.get(bad);
            assertEquals(OPERATION_STATE_FAILED, b.getState());
            assertEquals(Status.Code.INVALID_ARGUMENT.value(), b.getError().getCode());
            assertEquals("k: 7 is outside [1, 4]", b.getError().getMessage());
            assertEquals(2, r.list(null).size());
        }
        assertFalse(Files.list(dir).anyMatch(p -> p.toString().endsWith(".checkpoint") || p.toString().endsWith(".work")),
                "a finished operation keeps no checkpoint");
    }

    @Test
    void anInterruptedOperationResumesFromItsCheckpointUnderItsId(@TempDir Path dir) throws Exception {
        CountDownLatch checkpointed = new CountDownLatch(1);
        String id;
        OperationRegistry first = registry(dir);
        id = first.start("Count", Int64Value.of(10), ctx -> {
            for (long i = 0; i < 10; i++) {
                if (i == 4) {
                    ctx.checkpoint(Int64Value.of(i));
                    Files.writeString(ctx.workDirectory().orElseThrow().resolve("big.bin"), "state at 4");
                    checkpointed.countDown();
                    Thread.sleep(60_000); // "killed" here
                }
            }
            return Int64Value.of(10);
        }).getId();
        assertTrue(checkpointed.await(10, TimeUnit.SECONDS));
        first.close(); // a shutdown does not persist the interruption: the record still says RUNNING

        try (OperationRegistry second = registry(dir)) {
            Operation restored = second.get(id);
            assertEquals(OPERATION_STATE_RUNNING, restored.getState());
            assertTrue(restored.getMessage().startsWith("interrupted by restart"), restored.getMessage());
            long[] resumedFrom = {-1};
            String[] work = {null};
            second.resumeWith("Count", params -> ctx -> {
                long total = params.unpack(Int64Value.class).getValue();
                resumedFrom[0] = ctx.checkpoint().orElseThrow().unpack(Int64Value.class).getValue();
                work[0] = Files.readString(ctx.workDirectory().orElseThrow().resolve("big.bin"));
                return Int64Value.of(total);
            });
            second.recoverInterrupted();
            Operation done = second.await(id, WAIT);
            assertEquals(OPERATION_STATE_SUCCEEDED, done.getState(), done.toString());
            assertEquals(4, resumedFrom[0]);
            assertEquals("state at 4", work[0]);
            assertEquals(10, done.getResult().unpack(Int64Value.class).getValue());
        }
        assertFalse(Files.exists(dir.resolve(id + ".checkpoint")));
        assertFalse(Files.exists(dir.resolve(id + ".work")));
    }

    @Test
    void anInterruptedOperationWithoutAResumerFails(@TempDir Path dir) throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        OperationRegistry first = registry(dir);
        String id = first.start("Stats", ctx -> {
            running.countDown();
            Thread.sleep(60_000);
            return null;
        }).getId();
        String waiting = first.start("Stats", ctx -> null).getId();
        assertTrue(running.await(10, TimeUnit.SECONDS));
        first.close();
        try (OperationRegistry second = registry(dir)) {
            second.recoverInterrupted();
            for (String op : new String[]{id, waiting}) {
                Operation o = second.get(op);
                assertEquals(OPERATION_STATE_FAILED, o.getState());
                assertEquals(Status.Code.ABORTED.value(), o.getError().getCode());
                assertTrue(o.getError().getMessage().startsWith("interrupted by restart"), o.getError().getMessage());
            }
        }
        try (OperationRegistry third = registry(dir)) {
            assertEquals(OPERATION_STATE_FAILED, third.get(id).getState(), "the failure is persisted too");
        }
    }

    @Test
    void unreadableRecordsAreSkipped(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("0e0e0e0e-0000-4000-8000-000000000000.op"), "not a record");
        try (OperationRegistry r = registry(dir)) {
            assertTrue(r.list(null).isEmpty());
        }
    }
}
