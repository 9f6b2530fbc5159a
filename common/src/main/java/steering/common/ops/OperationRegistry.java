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
 * <p>
 * With an {@link OperationStore} every operation's record (state, progress, parameters, result or error) is written
 * to disk at each change of state (progress at most once a second), so the operations outlive the process. At the
 * next start the finished ones answer Get/List/Watch as before; the ones that were running are resumed by the
 * {@link Resumer} registered for their kind (the task finds its last checkpoint in its context), or end FAILED
 * (ABORTED, "interrupted by restart") once the owner calls {@link #recoverInterrupted()}.
 */
public final class OperationRegistry implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OperationRegistry.class.getName());

    /** The work of one operation. Returns the result (packed into {@code Operation.result}) or null. */
    @FunctionalInterface
    public interface Task {
        Message run(OperationContext context) throws Exception;
    }

    /**
     * Rebuilds the task of an operation that a restart interrupted from the parameters it was started with
     * ({@link #start(String, Message, Task)}). Called on the operation's worker thread, so a failure here fails it.
     */
    @FunctionalInterface
    public interface Resumer {
        Task resume(Any parameters) throws Exception;
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
    private final OperationStore store;
    private final Map<String, Resumer> resumers = new ConcurrentHashMap<>();
    /** restored operations that were not finished, until {@link #recoverInterrupted()} resumes or fails them */
    private final List<Entry> interrupted = new ArrayList<>();
    private volatile boolean closed;
    /** set by close(): what the tasks do from then on is not persisted, so a restart resumes them */
    private volatile boolean closing;

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
        this(maxRunning, maxQueued, retention, maxRetained, clock, null);
    }

    /** A registry whose operations are persisted in {@code store} and restored from it now. */
    public OperationRegistry(int maxRunning, int maxQueued, Duration retention, int maxRetained, OperationStore store) {
        this(maxRunning, maxQueued, retention, maxRetained, Clock.systemUTC(), store);
    }

    public OperationRegistry(int maxRunning, int maxQueued, Duration retention, int maxRetained, Clock clock,
                             OperationStore store) {
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
        this.store = store;
        if (store != null) restore();
    }

    private void restore() {
        for (OperationStore.Stored s : store.load()) {
            Entry e = new Entry(s.operation(), s.parameters());
            entries.put(e.id, e);
            if (!e.done()) {
                e.interruptedByRestart();
                interrupted.add(e);
            }
        }
        evictExpired();
        if (!entries.isEmpty()) {
            LOG.info("restored " + entries.size() + " operations from " + store.directory() + ", " + interrupted.size() + " of them interrupted");
        }
    }

    /** Registers how to resume operations of {@code kind} that a restart interrupted; call before {@link #recoverInterrupted()}. */
    public void resumeWith(String kind, Resumer resumer) {
        resumers.put(kind, resumer);
    }

    /**
     * Queues the interrupted operations of every kind with a {@link Resumer} again (they keep their id, progress and
     * checkpoint) and ends the others FAILED with "interrupted by restart". Only the first call does anything.
     */
    public synchronized void recoverInterrupted() {
        for (Entry e : interrupted) {
            Resumer r = resumers.get(e.kind);
            if (e.cancelRequested) {
                e.finishRestored(OperationState.OPERATION_STATE_CANCELLED, "cancelled", null);
            } else if (r == null || e.parameters.equals(Any.getDefaultInstance())) {
                e.finishRestored(OperationState.OPERATION_STATE_FAILED, "failed",
                        OperationError.newBuilder().setCode(Status.Code.ABORTED.value())
                                .setMessage("interrupted by restart (" + e.kind + " operations cannot be resumed; start it again)").build());
            } else {
                e.requeue(ctx -> r.resume(e.parameters).run(ctx));
            }
        }
        interrupted.clear();
    }

    /** Queues a task and returns its operation (PENDING, or already RUNNING when a worker was free). */
    public Operation start(String kind, Task task) {
        return start(kind, null, task);
    }

    /**
     * As {@link #start(String, Task)}, keeping {@code parameters} (the request with its defaults resolved) in the
     * operation's record, for the kind's {@link Resumer} after a restart.
     */
    public Operation start(String kind, Message parameters, Task task) {
        if (closed) throw Errors.unavailable("the operation registry is shut down");
        evictExpired();
        long pending = entries.values().stream().filter(e -> e.state() == OperationState.OPERATION_STATE_PENDING).count();
        if (pending >= maxQueued + Math.max(0, executor.getMaximumPoolSize() - executor.getActiveCount())) {
            throw Errors.exhausted(pending + " operations are already waiting to run; retry when one has finished");
        }
        Entry e = new Entry(UUID.randomUUID().toString(), kind, task,
                parameters == null ? Any.getDefaultInstance() : Any.pack(parameters));
        entries.put(e.id, e);
        e.persist(true);
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
            if (f.isBefore(cutoff)) forget(e);
            else finished.add(e);
        }
        if (finished.size() > maxRetained) {
            finished.sort(Comparator.comparing(e -> e.finished));
            for (int i = 0; i < finished.size() - maxRetained; i++) forget(finished.get(i));
        }
    }

    private void forget(Entry e) {
        if (entries.remove(e.id) != null && store != null) store.delete(e.id);
    }

    /** Cancels everything still running or waiting and stops the workers. */
    @Override
    public void close() {
        closed = true;
        closing = true;
        for (Entry e : entries.values()) e.cancel();
        executor.shutdownNow();
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    private static Timestamp ts(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    private final class Entry implements OperationContext {
        final String id;
        final String kind;
        final Any parameters;
        volatile Task task;
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
        private long persistedAt;

        Entry(String id, String kind, Task task, Any parameters) {
            this.id = id;
            this.kind = kind;
            this.task = task;
            this.parameters = parameters;
            this.created = clock.instant();
            this.updated = created;
        }

        /** An operation read back from the store. */
        Entry(Operation op, Any parameters) {
            this.id = op.getId();
            this.kind = op.getKind();
            this.parameters = parameters;
            this.created = instant(op.getCreatedAt());
            this.updated = instant(op.getUpdatedAt());
            this.state = op.getState();
            this.progress = op.getProgress();
            this.message = op.getMessage();
            this.metrics.putAll(op.getMetricsMap());
            if (op.hasResult()) result = op.getResult();
            if (op.hasError()) error = op.getError();
            if (done()) finished = updated;
        }

        synchronized void interruptedByRestart() {
            message = "interrupted by restart at " + Math.round(progress * 100) + "%; waiting to be resumed";
        }

        /** Runs a restored operation again from its checkpoint, under its old id. */
        synchronized void requeue(Task resumed) {
            task = resumed;
            change(() -> {
                state = OperationState.OPERATION_STATE_PENDING;
                message = "resuming after a restart";
            });
            future = executor.submit(this::run);
        }

        synchronized void finishRestored(OperationState end, String msg, OperationError err) {
            change(() -> {
                state = end;
                message = msg;
                error = err;
            });
        }

        /** Writes the record: always when {@code force} (state changes), else at most once a second (progress). */
        synchronized void persist(boolean force) {
            if (store == null || closing) return;
            long now = System.nanoTime();
            if (!force && now - persistedAt < 1_000_000_000L) return;
            persistedAt = now;
            try {
                store.save(snapshot(), parameters);
            } catch (java.io.IOException ex) {
                LOG.log(Level.WARNING, "could not persist operation " + id + ": " + ex.getMessage());
            }
            if (done()) store.deleteCheckpoints(id);
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
            OperationState before = state;
            mutation.run();
            updated = clock.instant();
            if (done()) {
                finished = updated;
                notifyAll();
            }
            persist(state != before);
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
        public java.util.Optional<Any> checkpoint() {
            return store == null ? java.util.Optional.empty() : store.checkpoint(id);
        }

        @Override
        public void checkpoint(Message value) throws java.io.IOException {
            if (store != null && !closing) store.saveCheckpoint(id, Any.pack(value));
        }

        @Override
        public java.util.Optional<java.nio.file.Path> workDirectory() {
            return store == null ? java.util.Optional.empty() : java.util.Optional.of(store.workDirectory(id));
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
