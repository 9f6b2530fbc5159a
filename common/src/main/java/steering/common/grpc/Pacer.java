package steering.common.grpc;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Paces the many calls of a long request (an evaluation's samples, a comparison's generations) within a dependency's
 * capacity: at most {@code window} calls are in flight at once (model-service's batch, so its queue keeps room for
 * other clients), the next call to start is one of the owner with the fewest calls in flight (so one big sweep
 * does not hold back a later one: they share the window), and a call refused with RESOURCE_EXHAUSTED (the dependency is busy with others) is tried again with
 * a growing, jittered pause, for at most {@code maxWait} from its submission. Each call runs in the gRPC and
 * OpenTelemetry contexts of its submitter: the caller's deadline, cancellation, request id and trace carry over.
 */
public final class Pacer {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pacer-retry");
        t.setDaemon(true);
        return t;
    });

    private final int window;
    private final Duration maxWait;
    private int inFlight; // guarded by this
    private final LinkedHashMap<Object, ArrayDeque<Runnable>> waiting = new LinkedHashMap<>(); // guarded by this
    private final Map<Object, Integer> running = new HashMap<>(); // guarded by this

    public Pacer(int window, Duration maxWait) {
        if (window < 1) throw new IllegalArgumentException("window must be >= 1");
        this.window = window;
        this.maxWait = maxWait;
    }

    public int window() {
        return window;
    }

    /**
     * Starts {@code call} when its turn comes; the result completes with the call's.
     *
     * @param owner whose call it is (one request or operation): owners share the window
     */
    public <T> CompletableFuture<T> submit(Object owner, Supplier<CompletableFuture<T>> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        long start = System.nanoTime();
        Runnable first = inContext(() -> attempt(owner, call, result, 0, start));
        synchronized (this) {
            waiting.computeIfAbsent(owner, k -> new ArrayDeque<>()).add(first);
        }
        dispatch();
        return result;
    }

    private void dispatch() {
        List<Runnable> ready = new ArrayList<>();
        synchronized (this) {
            while (inFlight < window && !waiting.isEmpty()) {
                // the owner with the fewest calls running; among equals, the one that has waited longest
                Object owner = null;
                int least = Integer.MAX_VALUE;
                for (Object o : waiting.keySet()) {
                    int n = running.getOrDefault(o, 0);
                    if (n < least) {
                        least = n;
                        owner = o;
                    }
                }
                ArrayDeque<Runnable> queue = waiting.remove(owner);
                ready.add(queue.poll());
                if (!queue.isEmpty()) waiting.put(owner, queue); // to the back of the line
                running.merge(owner, 1, Integer::sum);
                inFlight++;
            }
        }
        ready.forEach(Runnable::run);
    }

    private <T> void attempt(Object owner, Supplier<CompletableFuture<T>> call, CompletableFuture<T> result, int tries, long start) {
        CompletableFuture<T> f;
        try {
            f = call.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        Runnable again = inContext(() -> attempt(owner, call, result, tries + 1, start));
        f.whenComplete((value, failure) -> {
            if (failure != null && exhausted(failure) && System.nanoTime() - start < maxWait.toNanos()) {
                TIMER.schedule(again, pause(tries), TimeUnit.MILLISECONDS); // keeps its place in the window meanwhile
                return;
            }
            synchronized (this) {
                inFlight--;
                if (running.merge(owner, -1, Integer::sum) == 0) running.remove(owner);
            }
            dispatch();
            if (failure != null) result.completeExceptionally(failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure);
            else result.complete(value);
        });
    }

    /**
     * Runs a blocking call, trying again while it is refused with RESOURCE_EXHAUSTED, for at most {@code maxWait}.
     * An interrupt while waiting (an operation's cancellation) ends it with CANCELLED.
     */
    public static <T> T retryingWhenBusy(Supplier<T> call, Duration maxWait) {
        long start = System.nanoTime();
        for (int tries = 0; ; tries++) {
            try {
                return call.get();
            } catch (StatusRuntimeException e) {
                if (!exhausted(e) || System.nanoTime() - start >= maxWait.toNanos()) throw e;
            }
            try {
                Thread.sleep(pause(tries));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.CANCELLED.withDescription("interrupted while waiting for a busy dependency").asRuntimeException();
            }
        }
    }

    /** 50 ms doubling to 2 s, +-25%. */
    static long pause(int tries) {
        long base = Math.min(2_000, 50L << Math.min(tries, 6));
        return (long) (base * (0.75 + 0.5 * ThreadLocalRandom.current().nextDouble()));
    }

    static boolean exhausted(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof StatusRuntimeException s) return s.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED;
            if (c instanceof io.grpc.StatusException s) return s.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED;
        }
        return false;
    }

    private static Runnable inContext(Runnable r) {
        return Context.current().wrap(io.opentelemetry.context.Context.current().wrap(r));
    }
}
