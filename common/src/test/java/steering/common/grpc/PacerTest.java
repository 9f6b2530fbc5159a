package steering.common.grpc;

import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** The pacing rules on calls completed by the test: the window, owners taking turns, busy refusals retried. */
class PacerTest {

    @Test
    void atMostAWindowRunsAndOwnersTakeTurns() throws Exception {
        Pacer pacer = new Pacer(2, Duration.ofSeconds(10));
        List<CompletableFuture<String>> running = new CopyOnWriteArrayList<>();
        List<String> started = new CopyOnWriteArrayList<>();
        List<CompletableFuture<String>> results = new ArrayList<>();
        for (String owner : new String[]{"big", "big", "big", "big", "small"}) {
            int n = results.size();
            results.add(pacer.submit(owner, () -> {
                CompletableFuture<String> f = new CompletableFuture<>();
                started.add(owner + n);
                running.add(f);
                return f;
            }));
        }
        assertEquals(List.of("big0", "big1"), started, "two at a time");
        running.get(0).complete("a");
        assertEquals("small4", started.get(2), "the other owner goes next, not the big one's third call");
        for (int i = 1; i < 5; i++) {
            while (running.size() <= i) Thread.sleep(1);
            running.get(i).complete("x");
        }
        for (CompletableFuture<String> r : results) assertNotNull(r.get(5, TimeUnit.SECONDS));
        assertEquals(5, started.size());
    }

    @Test
    void aBusyRefusalIsRetriedAndOtherErrorsAreNot() throws Exception {
        Pacer pacer = new Pacer(1, Duration.ofSeconds(10));
        AtomicInteger tries = new AtomicInteger();
        String ok = pacer.submit("x", () -> tries.incrementAndGet() < 3
                ? CompletableFuture.<String>failedFuture(Status.RESOURCE_EXHAUSTED.withDescription("busy").asRuntimeException())
                : CompletableFuture.completedFuture("served")).get(10, TimeUnit.SECONDS);
        assertEquals("served", ok);
        assertEquals(3, tries.get());
        CompletableFuture<String> bad = pacer.submit("x", () -> CompletableFuture.failedFuture(Status.INVALID_ARGUMENT.asRuntimeException()));
        Exception e = assertThrows(Exception.class, () -> bad.get(5, TimeUnit.SECONDS));
        assertEquals(Status.Code.INVALID_ARGUMENT, Status.fromThrowable(e.getCause()).getCode());
        assertEquals("later", pacer.submit("y", () -> CompletableFuture.completedFuture("later")).get(5, TimeUnit.SECONDS),
                "a failed call gives its place back");
        AtomicInteger blocking = new AtomicInteger();
        assertEquals(7, Pacer.retryingWhenBusy(() -> {
            if (blocking.incrementAndGet() < 2) throw Status.RESOURCE_EXHAUSTED.asRuntimeException();
            return 7;
        }, Duration.ofSeconds(5)));
    }
}
