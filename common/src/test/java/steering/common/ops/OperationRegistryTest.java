package steering.common.ops;

import com.google.protobuf.StringValue;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import steering.common.grpc.Errors;
import steering.v1.Operation;


import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;
import static steering.v1.OperationState.*;

class OperationRegistryTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final List<OperationRegistry> opened = new ArrayList<>();

    private OperationRegistry registry(int running, int queued) {
        OperationRegistry r = new OperationRegistry(running, queued, Duration.ofHours(1), 100);
        opened.add(r);
        return r;
    }

    @AfterEach
    void close() {
        opened.forEach(OperationRegistry::close);
    }

    @Test
    void aTaskRunsReportsProgressAndSucceedsWithItsResult() throws Exception {
        OperationRegistry r = registry(1, 4);
        CountDownLatch go = new CountDownLatch(1);
        Operation started = r.start("Echo", ctx -> {
            go.await();
            ctx.update(0.5, "half way", Map.of("fvu", 0.25));
            ctx.metric("l0", 32);
            return StringValue.of("result of " + ctx.id());
        });
        assertEquals("Echo", started.getKind());
        assertTrue(started.getState() == OPERATION_STATE_PENDING || started.getState() == OPERATION_STATE_RUNNING);
        assertFalse(started.getId().isEmpty());
        assertTrue(started.hasCreatedAt());
        go.countDown();
        Operation done = r.await(started.getId(), WAIT);
        assertEquals(OPERATION_STATE_SUCCEEDED, done.getState());
        assertEquals(1.0, done.getProgress());
        assertEquals(0.25, done.getMetricsOrThrow("fvu"));
        assertEquals(32.0, done.getMetricsOrThrow("l0"));
        assertEquals("result of " + started.getId(), done.getResult().unpack(StringValue.class).getValue());
        assertEquals(done, r.get(started.getId()));
        assertFalse(done.hasError());
    }

    @Test
    void watchersSeeEveryChangeInOrderAndTheFinalStateLast() throws Exception {
        OperationRegistry r = registry(1, 4);
        CountDownLatch subscribed = new CountDownLatch(1);
        Operation op = r.start("Count", ctx -> {
            subscribed.await();
            for (int i = 1; i <= 5; i++) ctx.progress(i / 10.0, "step " + i);
            return null;
        });
        List<Operation> seen = new CopyOnWriteArrayList<>();
        CountDownLatch finished = new CountDownLatch(1);
        r.watch(op.getId(), o -> {
            seen.add(o);
            if (OperationStreams.isDone(o)) finished.countDown();
        });
        subscribed.countDown();
        assertTrue(finished.await(10, TimeUnit.SECONDS));
        Operation last = seen.get(seen.size() - 1);
        assertEquals(OPERATION_STATE_SUCCEEDED, last.getState());
        assertFalse(last.hasResult(), "a null result leaves the field unset");
        List<String> steps = seen.stream().map(Operation::getMessage).filter(m -> m.startsWith("step")).toList();
        assertEquals(List.of("step 1", "step 2", "step 3", "step 4", "step 5"), steps);
        double previous = -1;
        for (Operation o : seen) {
            assertTrue(o.getProgress() >= previous, "progress never goes back");
            previous = o.getProgress();
        }
        // a watcher that arrives after the end gets the final state once
        List<Operation> late = new ArrayList<>();
        r.watch(op.getId(), late::add);
        assertEquals(List.of(last), late);
    }

    @Test
    void cancellingARunningTaskInterruptsItAndEndsCancelled() throws Exception {
        OperationRegistry r = registry(1, 4);
        CountDownLatch running = new CountDownLatch(1);
        AtomicBoolean sawInterrupt = new AtomicBoolean();
        Operation op = r.start("Sleep", ctx -> {
            running.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                sawInterrupt.set(true);
                throw e;
            }
            return null;
        });
        assertTrue(running.await(10, TimeUnit.SECONDS));
        r.cancel(op.getId());
        Operation done = r.await(op.getId(), WAIT);
        assertEquals(OPERATION_STATE_CANCELLED, done.getState());
        assertTrue(sawInterrupt.get());
        assertFalse(done.hasResult());
        // cancelling again changes nothing
        assertEquals(done, r.cancel(op.getId()));
    }

    @Test
    void aTaskThatChecksBetweenStepsStopsAtTheNextCheck() throws Exception {
        OperationRegistry r = registry(1, 4);
        CountDownLatch firstStepDone = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger steps = new java.util.concurrent.atomic.AtomicInteger();
        Operation op = r.start("Loop", ctx -> {
            while (true) {
                ctx.checkCancelled();
                steps.incrementAndGet();
                firstStepDone.countDown(); // cancel only once the loop is past its first check
                Thread.onSpinWait();
            }
        });
        assertTrue(firstStepDone.await(10, TimeUnit.SECONDS));
        r.cancel(op.getId());
        assertEquals(OPERATION_STATE_CANCELLED, r.await(op.getId(), WAIT).getState());
        assertTrue(steps.get() > 0);
    }

    @Test
    void cancellingAWaitingOperationEndsItAtOnceAndItNeverRuns() throws Exception {
        OperationRegistry r = registry(1, 4);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch firstRunning = new CountDownLatch(1);
        Operation first = r.start("Block", ctx -> {
            firstRunning.countDown();
            release.await();
            return null;
        });
        assertTrue(firstRunning.await(10, TimeUnit.SECONDS));
        AtomicBoolean secondRan = new AtomicBoolean();
        Operation second = r.start("Never", ctx -> {
            secondRan.set(true);
            return null;
        });
        assertEquals(OPERATION_STATE_PENDING, second.getState());
        assertEquals(OPERATION_STATE_CANCELLED, r.cancel(second.getId()).getState());
        release.countDown();
        assertEquals(OPERATION_STATE_SUCCEEDED, r.await(first.getId(), WAIT).getState());
        // give the pool a chance to (wrongly) pick the cancelled one up
        Operation third = r.start("After", ctx -> null);
        assertEquals(OPERATION_STATE_SUCCEEDED, r.await(third.getId(), WAIT).getState());
        assertFalse(secondRan.get());
        assertEquals(OPERATION_STATE_CANCELLED, r.get(second.getId()).getState());
    }

    @Test
    void failuresKeepTheirGrpcCodeAndUnexpectedOnesBecomeInternal() throws Exception {
        OperationRegistry r = registry(2, 4);
        Operation bad = r.start("Bad", ctx -> {
            throw Errors.invalid("hook", "blocks.99.hook_resid_post is outside [0, 29]");
        });
        Operation boom = r.start("Boom", ctx -> {
            throw new IllegalStateException("disk on fire");
        });
        Operation b = r.await(bad.getId(), WAIT);
        assertEquals(OPERATION_STATE_FAILED, b.getState());
        assertEquals(Status.Code.INVALID_ARGUMENT.value(), b.getError().getCode());
        assertEquals("hook: blocks.99.hook_resid_post is outside [0, 29]", b.getError().getMessage());
        Operation o = r.await(boom.getId(), WAIT);
        assertEquals(OPERATION_STATE_FAILED, o.getState());
        assertEquals(Status.Code.INTERNAL.value(), o.getError().getCode());
        assertTrue(o.getError().getMessage().contains("disk on fire"));
    }

    @Test
    void unknownAndBlankIdsAreRejected() {
        OperationRegistry r = registry(1, 1);
        StatusRuntimeException missing = assertThrows(StatusRuntimeException.class, () -> r.get("nope"));
        assertEquals(Status.Code.NOT_FOUND, missing.getStatus().getCode());
        StatusRuntimeException blank = assertThrows(StatusRuntimeException.class, () -> r.cancel(" "));
        assertEquals(Status.Code.INVALID_ARGUMENT, blank.getStatus().getCode());
        assertTrue(blank.getStatus().getDescription().startsWith("id:"));
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class,
                () -> r.watch("nope", o -> {})).getStatus().getCode());
    }

    @Test
    void aFullQueueRefusesNewOperations() throws Exception {
        OperationRegistry r = registry(1, 1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch running = new CountDownLatch(1);
        Operation a = r.start("A", ctx -> {
            running.countDown();
            release.await();
            return null;
        });
        assertTrue(running.await(10, TimeUnit.SECONDS));
        Operation queued = r.start("B", ctx -> null);
        StatusRuntimeException full = assertThrows(StatusRuntimeException.class, () -> r.start("C", ctx -> null));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.getStatus().getCode());
        release.countDown();
        assertEquals(OPERATION_STATE_SUCCEEDED, r.await(a.getId(), WAIT).getState());
        assertEquals(OPERATION_STATE_SUCCEEDED, r.await(queued.getId(), WAIT).getState());
        Operation later = r.start("D", ctx -> null);
        assertEquals(OPERATION_STATE_SUCCEEDED, r.await(later.getId(), WAIT).getState());
    }

    @Test
    void finishedOperationsAreForgottenAfterTheRetentionPeriodOrBeyondTheCap() throws Exception {
        MutableClock clock = new MutableClock();
        OperationRegistry r = new OperationRegistry(1, 10, Duration.ofMinutes(10), 2, clock);
        opened.add(r);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String id = r.start("Quick", ctx -> null).getId();
            assertEquals(OPERATION_STATE_SUCCEEDED, r.await(id, WAIT).getState());
            ids.add(id);
            clock.advance(Duration.ofSeconds(1));
        }
        // cap 2: the oldest is gone
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class, () -> r.get(ids.get(0))).getStatus().getCode());
        assertEquals(OPERATION_STATE_SUCCEEDED, r.get(ids.get(2)).getState());
        assertEquals(2, r.list("Quick").size());
        assertEquals(ids.get(2), r.list(null).get(0).getId(), "newest first");
        clock.advance(Duration.ofMinutes(11));
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class, () -> r.get(ids.get(2))).getStatus().getCode());
    }

    @Test
    void closingCancelsRunningWork() throws Exception {
        OperationRegistry r = new OperationRegistry(1, 4, Duration.ofHours(1), 10);
        CountDownLatch running = new CountDownLatch(1);
        Operation op = r.start("Long", ctx -> {
            running.countDown();
            Thread.sleep(60_000);
            return null;
        });
        assertTrue(running.await(10, TimeUnit.SECONDS));
        r.close();
        assertEquals(OPERATION_STATE_CANCELLED, r.get(op.getId()).getState());
        assertEquals(Status.Code.UNAVAILABLE, assertThrows(StatusRuntimeException.class, () -> r.start("X", ctx -> null)).getStatus().getCode());
    }

    private static final class MutableClock extends Clock {
        private volatile Instant now = Instant.parse("2025-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

}
