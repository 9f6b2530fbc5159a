package steering.common.ops;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.Errors;
import steering.v1.Operation;
import steering.v1.OperationError;
import steering.v1.OperationState;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Long-running operations over {@link Operation}: {@code start} returns at once with a PENDING operation, the task
 * runs on a bounded pool, reports progress and metrics through its {@link OperationContext}, and ends SUCCEEDED
 * (its result packed in {@code result}), FAILED (with a gRPC code and message) or CANCELLED. {@code get},
 * {@code watch} and {@code cancel} implement GetOperation / WatchOperation / CancelOperation. Finished operations
 * are kept for a retention period, then forgotten. Framework-free, so every service reuses it.
 */
public final class OperationRegistry implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OperationRegistry.class.getName());

    /** The work of one operation. Returns the result (packed into {@code Operation.result}) or null. */
    @FunctionalInterface
    public interface Task {
        Message run(OperationContext context) throws Exception;
    }

    /** A registered watcher; closing it stops the updates. */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();
    }

    private final ThreadPoolExecutor executor;
    private final int maxQueued;
    private final Duration retention;
    private final int maxRetained;
    private final Clock clock;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param maxRunning  operations that run at the same time; later ones wait PENDING
     * @param maxQueued   PENDING operations accepted before start is refused with RESOURCE_EXHAUSTED
     * @param retention   how long a finished operation stays readable
     * @param maxRetained finished operations kept at most (the oldest are dropped first)
     */
    public OperationRegistry(int maxRunning, int maxQueued, Duration retention, int maxRetained) {
        this(maxRunning, maxQueued, retention, maxRetained, Clock.systemUTC());
    }

    public OperationRegistry(int maxRunning, int maxQueued, Duration retention, int maxRetained, Clock clock) {
        if (maxRunning < 1) throw new IllegalArgumentException("maxRunning must be >= 1");
        if (maxQueued < 0) throw new IllegalArgumentException("maxQueued must be >= 0");
        this.maxQueued = maxQueued;
        this.retention = retention;
        this.maxRetained = Math.max(1, maxRetained);
        this.clock = clock;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "operation-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.executor = new ThreadPoolExecutor(maxRunning, maxRunning, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), threads);
        this.executor.allowCoreThreadTimeOut(true);
    }

    /** Queues a task and returns its operation (PENDING, or already RUNNING when a worker was free). */
    public Operation start(String kind, Task task) {
        if (closed) throw Errors.unavailable("the operation registry is shut down");
        evictExpired();
        long pending = entries.values().stream().filter(e -> e.state() == OperationState.OPERATION_STATE_PENDING).count();
        if (pending >= maxQueued + Math.max(0, executor.getMaximumPoolSize() - executor.getActiveCount())) {
            throw Errors.exhausted(pending + " operations are already waiting to run; retry when one has finished");
        }
        Entry e = new Entry(UUID.randomUUID().toString(), kind, task);
        entries.put(e.id, e);
        try {
            e.future = executor.submit(e::run);
        } catch (RejectedExecutionException ex) {
            entries.remove(e.id);
            throw Errors.exhausted("the operation could not be queued: " + ex.getMessage());
        }
        return e.snapshot();
    }

    /** The operation's current state; NOT_FOUND for an unknown (or expired) id. */
    public Operation get(String id) {
        return entry(id).snapshot();
    }

    /** Operations of a kind (all kinds when null), newest first. */
    public List<Operation> list(String kind) {
        evictExpired();
        List<Entry> all = new ArrayList<>(entries.values());
        all.sort(Comparator.comparing((Entry e) -> e.created).reversed());
        List<Operation> out = new ArrayList<>();
        for (Entry e : all) if (kind == null || kind.equals(e.kind)) out.add(e.snapshot());
        return out;
    }

    /**
     * Requests cancellation and returns the state right after the request: a PENDING operation is CANCELLED at
     * once; a RUNNING one is interrupted and ends CANCELLED when its task stops (tasks check between steps). A
     * finished operation is returned unchanged.
     */
    public Operation cancel(String id) {
        Entry e = entry(id);
        e.cancel();
        return e.snapshot();
    }

    /**
     * Calls {@code listener} with the current state at once and then on every change, one call at a time, until
     * the operation is done (the final state is the last call) or the subscription is closed.
     */
    public Subscription watch(String id, Consumer<Operation> listener) {
        return entry(id).subscribe(listener);
    }

    /** Blocks until the operation is done or the timeout passes; returns its state then. */
    public Operation await(String id, Duration timeout) throws InterruptedException {
        Entry e = entry(id);
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (e) {
            while (!e.done()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                TimeUnit.NANOSECONDS.timedWait(e, left);
            }
            return e.snapshot();
        }
    }

    private Entry entry(String id) {
        if (id == null || id.isBlank()) throw Errors.invalid("id", "an operation id is required");
        evictExpired();
        Entry e = entries.get(id);
        if (e == null) throw Errors.notFound("operation " + id + " does not exist (or finished more than " + retention + " ago)");
        return e;
    }

    private void evictExpired() {
        Instant cutoff = clock.instant().minus(retention);
        List<Entry> finished = new ArrayList<>();
        for (Entry e : entries.values()) {
            Instant f = e.finished;
            if (f == null) continue;
            if (f.isBefore(cutoff)) entries.remove(e.id);
            else finished.add(e);
        }
        if (finished.size() > maxRetained) {
            finished.sort(Comparator.comparing(e -> e.finished));
            for (int i = 0; i < finished.size() - maxRetained; i++) entries.remove(finished.get(i).id);
        }
    }

    /** Cancels everything still running or waiting and stops the workers. */
    @Override
    public void close() {
        closed = true;
        for (Entry e : entries.values()) e.cancel();
        executor.shutdownNow();
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static Timestamp ts(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    private final class Entry implements OperationContext {
        final String id;
        final String kind;
        final Task task;
        final Instant created;
        final List<Consumer<Operation>> listeners = new CopyOnWriteArrayList<>();
        volatile Future<?> future;
        volatile boolean cancelRequested;
        volatile Instant finished;
        // guarded by this
        private OperationState state = OperationState.OPERATION_STATE_PENDING;
        private double progress;
        private String message = "waiting to run";
        private final Map<String, Double> metrics = new LinkedHashMap<>();
        private Instant updated;
        private Any result;
        private OperationError error;
        private Thread runner;

        Entry(String id, String kind, Task task) {
            this.id = id;
            this.kind = kind;
            this.task = task;
            this.created = clock.instant();
            this.updated = created;
        }

        synchronized OperationState state() {
            return state;
        }

        synchronized boolean done() {
            return state == OperationState.OPERATION_STATE_SUCCEEDED || state == OperationState.OPERATION_STATE_FAILED
                    || state == OperationState.OPERATION_STATE_CANCELLED;
        }

        synchronized Operation snapshot() {
            Operation.Builder b = Operation.newBuilder().setId(id).setKind(kind).setState(state).setProgress(progress)
                    .setMessage(message == null ? "" : message).putAllMetrics(metrics)
                    .setCreatedAt(ts(created)).setUpdatedAt(ts(updated));
            if (result != null) b.setResult(result);
            if (error != null) b.setError(error);
            return b.build();
        }

        /** Applies a change and tells the watchers, all under the lock so that they see the changes in order. */
        private synchronized void change(Runnable mutation) {
            if (done()) return;
            mutation.run();
            updated = clock.instant();
            if (done()) {
                finished = updated;
                notifyAll();
            }
            Operation op = snapshot();
            for (Consumer<Operation> l : listeners) deliver(l, op);
            if (done()) listeners.clear();
        }

        private void deliver(Consumer<Operation> l, Operation op) {
            try {
                l.accept(op);
            } catch (RuntimeException ex) {
                listeners.remove(l);
                LOG.log(Level.FINE, "an operation watcher failed; it is dropped", ex);
            }
        }

        synchronized Subscription subscribe(Consumer<Operation> listener) {
            deliver(listener, snapshot());
            if (!done()) listeners.add(listener);
            return () -> listeners.remove(listener);
        }

        void run() {
            synchronized (this) {
                if (state != OperationState.OPERATION_STATE_PENDING) return; // cancelled while waiting
                runner = Thread.currentThread();
                change(() -> {
                    state = OperationState.OPERATION_STATE_RUNNING;
                    message = "running";
                });
            }
            Message out = null;
            Throwable failure = null;
            try {
                out = task.run(this);
            } catch (Throwable t) {
                failure = t;
            } finally {
                synchronized (this) {
                    runner = null;
                }
                Thread.interrupted(); // do not leak a cancellation interrupt into the pool thread
            }
            Message value = out;
            if (failure == null) {
                change(() -> {
                    state = OperationState.OPERATION_STATE_SUCCEEDED;
                    progress = 1.0;
                    message = "done";
                    if (value != null) result = Any.pack(value);
                });
            } else if (cancelRequested || isCancellation(failure)) {
                change(() -> {
                    state = OperationState.OPERATION_STATE_CANCELLED;
                    message = "cancelled";
                });
            } else {
                Status status = statusOf(failure);
                if (status.getCode() == Status.Code.INTERNAL) {
                    LOG.log(Level.WARNING, "operation " + id + " (" + kind + ") failed", failure);
                }
                change(() -> {
                    state = OperationState.OPERATION_STATE_FAILED;
                    message = "failed";
                    error = OperationError.newBuilder().setCode(status.getCode().value())
                            .setMessage(status.getDescription() == null ? status.getCode().name() : status.getDescription()).build();
                });
            }
        }

        void cancel() {
            cancelRequested = true;
            synchronized (this) {
                if (state == OperationState.OPERATION_STATE_PENDING) {
                    change(() -> {
                        state = OperationState.OPERATION_STATE_CANCELLED;
                        message = "cancelled before it started";
                    });
                    Future<?> f = future;
                    if (f != null) f.cancel(false);
                    return;
                }
                if (state == OperationState.OPERATION_STATE_RUNNING) {
                    change(() -> message = "cancelling");
                    if (runner != null) runner.interrupt();
                }
            }
        }

        // OperationContext

        @Override
        public String id() {
            return id;
        }

        @Override
        public boolean isCancelled() {
            return cancelRequested;
        }

        @Override
        public void progress(double fraction, String msg) {
            update(fraction, msg, Map.of());
        }

        @Override
        public void metric(String name, double value) {
            update(Double.NaN, null, Map.of(name, value));
        }

        @Override
        public void update(double fraction, String msg, Map<String, Double> values) {
            change(() -> {
                if (!Double.isNaN(fraction)) progress = Math.max(0, Math.min(1, fraction));
                if (msg != null) message = msg;
                metrics.putAll(values);
            });
        }
    }

    private static boolean isCancellation(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OperationCancelledException || c instanceof InterruptedException
                    || c instanceof CancellationException) return true;
            if (c instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.CANCELLED) return true;
        }
        return false;
    }

    private static Status statusOf(Throwable t) {
        StatusRuntimeException s = Errors.toStatus(t);
        return s.getStatus();
    }
}
