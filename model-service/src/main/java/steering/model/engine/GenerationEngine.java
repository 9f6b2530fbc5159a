package steering.model.engine;

import steering.model.loader.LoadedModel;
import steering.model.runtime.ForwardResult;
import steering.model.runtime.ForwardStep;
import steering.model.runtime.KvCache;
import steering.model.runtime.ModelConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs every forward of one model on a single thread, with continuous batching: generations join the running batch
 * as soon as a cache slot is free, each step decodes one token for all of them in one forward, and finished ones
 * leave at once. One-shot forwards (Score, CaptureActivations) are run between decode steps.
 */
public final class GenerationEngine implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(GenerationEngine.class.getName());

    /** A handle the caller uses to stop a generation (e.g. when its client cancels). */
    public static final class Handle {
        private final AtomicBoolean cancelled = new AtomicBoolean();

        public void cancel() {
            cancelled.set(true);
        }
    }

    private record OneShot(List<ForwardStep> steps, CompletableFuture<List<ForwardResult>> result) {}

    private final class Running {
        final GenerationRequest request;
        final GenerationListener listener;
        final Handle handle;
        final Sampler sampler;
        final TextStream text;
        final List<Integer> generated = new ArrayList<>();
        int position;      // tokens in this sequence's cache
        int lastToken;

        Running(GenerationRequest request, GenerationListener listener, Handle handle) {
            this.request = request;
            this.listener = listener;
            this.handle = handle;
            this.sampler = new Sampler(request.temperature(), request.topK(), request.topP(), request.seed());
            this.text = new TextStream(request.stopStrings());
        }
    }

    private record Pending(GenerationRequest request, GenerationListener listener, Handle handle) {}

    private final LoadedModel model;
    private final EngineObserver observer;
    private final ModelConfig cfg;
    private final KvCache cache;
    private final BlockingQueue<Object> inbox;
    private final List<Running> running = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile int active;
    private final Object wake = new Object();

    /**
     * @param maxBatch   sequences decoded together (KV-cache slots)
     * @param queueLimit requests waiting for a slot before new ones are refused
     */
    public GenerationEngine(LoadedModel model, int maxBatch, int queueLimit) {
        this(model, maxBatch, queueLimit, EngineObserver.NONE);
    }

    public GenerationEngine(LoadedModel model, int maxBatch, int queueLimit, EngineObserver observer) {
        this.model = model;
        this.observer = observer;
        this.cfg = model.config();
        this.cache = new KvCache(model.transformer().manager(), cfg, maxBatch, 128, cfg.contextLength());
        this.inbox = new ArrayBlockingQueue<>(queueLimit);
        this.thread = new Thread(this::loop, "model-engine");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    public LoadedModel model() {
        return model;
    }

    public int maxBatch() {
        return cache.slots();
    }

    /** Generations currently decoding (not counting queued ones). */
    public int activeSequences() {
        return active;
    }

    /** Requests waiting in the queue. */
    public int queuedRequests() {
        return inbox.size();
    }

    /** Queues a generation; throws RejectedExecutionException when the queue is full. */
    public Handle generate(GenerationRequest request, GenerationListener listener) {
        Handle handle = new Handle();
        offer(new Pending(request, listener, handle));
        return handle;
    }

    /** Runs a one-shot forward (no KV cache kept) between decode steps. */
    public CompletableFuture<List<ForwardResult>> forward(List<ForwardStep> steps) {
        CompletableFuture<List<ForwardResult>> f = new CompletableFuture<>();
        offer(new OneShot(steps, f));
        return f;
    }

    private void offer(Object job) {
        if (closed) throw new RejectedExecutionException("the model engine is shut down");
        if (!inbox.offer(job)) {
            throw new RejectedExecutionException("the model is busy: " + inbox.size() + " requests are queued");
        }
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    private void loop() {
        while (!closed) {
            try {
                if (running.isEmpty() && inbox.isEmpty()) {
                    synchronized (wake) {
                        if (inbox.isEmpty()) wake.wait(1000);
                    }
                    continue;
                }
                admit();
                active = running.size();
                if (!running.isEmpty()) decodeStep();
                active = running.size();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Throwable t) {
                // never let one bad step kill the engine: fail the sequences involved and go on
                LOG.log(Level.SEVERE, "decode step failed", t);
                for (Running r : running) safely(() -> r.listener.onError(t));
                running.clear();
                active = 0;
            }
        }
    }

    /** Takes queued work: one-shot forwards run now, generations are prefilled while slots are free. */
    private void admit() {
        int budget = inbox.size();
        for (int i = 0; i < budget; i++) {
            Object job = inbox.peek();
            if (job == null) break;
            if (job instanceof Pending && running.size() >= cache.slots()) {
                // keep FIFO for generations; let one-shots behind it wait too, to stay simple and fair
                break;
            }
            inbox.poll();
            if (job instanceof OneShot o) {
                try {
                    long start = System.nanoTime();
                    List<ForwardResult> results = model.transformer().forward(o.steps, null);
                    observer.onOneShot(o.steps.stream().mapToInt(ForwardStep::length).sum(), System.nanoTime() - start);
                    o.result.complete(results);
                } catch (Throwable t) {
                    o.result.completeExceptionally(t);
                }
            } else if (job instanceof Pending p) {
                prefill(p);
            }
        }
    }

    private void prefill(Pending p) {
        if (p.handle.cancelled.get()) {
            safely(() -> p.listener.onFinish(GenerationListener.FinishReason.CANCELLED, "", p.request.promptIds().length, 0));
            return;
        }
        Running r = new Running(p.request, p.listener, p.handle);
        int slot = running.size();
        int[] prompt = p.request.promptIds();
        try {
            long start = System.nanoTime();
            ForwardResult out = model.transformer().forward(List.of(new ForwardStep(prompt, 0, slot,
                    p.request.interventions(), prompt.length - 1, java.util.Set.of())), cache).get(0);
            observer.onPrefill(prompt.length, System.nanoTime() - start);
            r.position = prompt.length;
            running.add(r);
            accept(r, out.logits(), 0);
        } catch (Throwable t) {
            running.remove(r);
            safely(() -> p.listener.onError(t));
            return;
        }
        if (isFinished(r)) retire(r);
    }

    private void decodeStep() {
        List<ForwardStep> steps = new ArrayList<>(running.size());
        for (int slot = 0; slot < running.size(); slot++) {
            Running r = running.get(slot);
            steps.add(ForwardStep.decode(r.lastToken, r.position, slot, r.request.interventions()));
        }
        long start = System.nanoTime();
        List<ForwardResult> results = model.transformer().forward(steps, cache);
        observer.onDecodeStep(steps.size(), System.nanoTime() - start);
        List<Running> finished = new ArrayList<>();
        for (int i = 0; i < running.size(); i++) {
            Running r = running.get(i);
            r.position++;
            accept(r, results.get(i).logits(), 0);
            if (isFinished(r)) finished.add(r);
        }
        for (Running r : finished) retire(r);
    }

    /** Samples the next token from the logits and tells the listener; sets lastToken, or marks the sequence done. */
    private void accept(Running r, float[] logits, int offset) {
        if (r.handle.cancelled.get()) return;
        int token = r.sampler.next(logits, offset, cfg.vocabSize());
        boolean eos = !r.request.ignoreEos() && cfg.eosTokenIds().contains(token);
        if (eos) {
            r.lastToken = -1;
            return;
        }
        r.generated.add(token);
        r.lastToken = token;
        String delta = r.text.advance(decodeGenerated(r));
        if (!r.text.stopped()) safely(() -> r.listener.onToken(token, delta));
        else if (!delta.isEmpty()) safely(() -> r.listener.onToken(token, delta));
    }

    private boolean isFinished(Running r) {
        return r.handle.cancelled.get() || r.lastToken < 0 || r.text.stopped()
                || r.generated.size() >= r.request.maxNewTokens()
                || r.position + 1 >= cfg.contextLength();
    }

    /** Ends a sequence and moves the last running sequence into its slot, so slots stay 0..n-1. */
    private void retire(Running r) {
        GenerationListener.FinishReason reason;
        String tail = "";
        if (r.handle.cancelled.get()) reason = GenerationListener.FinishReason.CANCELLED;
        else if (r.text.stopped()) reason = GenerationListener.FinishReason.STOP_STRING;
        else if (r.lastToken < 0) reason = GenerationListener.FinishReason.EOS;
        else reason = GenerationListener.FinishReason.LENGTH;
        if (reason != GenerationListener.FinishReason.STOP_STRING && reason != GenerationListener.FinishReason.CANCELLED) {
            tail = r.text.flush(decodeGenerated(r));
        }
        String finalTail = tail;
        safely(() -> r.listener.onFinish(reason, finalTail, r.request.promptIds().length, r.generated.size()));
        int slot = running.indexOf(r);
        if (slot < 0) return;
        int last = running.size() - 1;
        if (slot != last) {
            Running moved = running.get(last);
            cache.moveSlot(last, slot, moved.position);
            running.set(slot, moved);
        }
        running.remove(last);
    }

    private String decodeGenerated(Running r) {
        int[] ids = r.generated.stream().mapToInt(Integer::intValue).toArray();
        return model.tokenizer().decode(ids, true);
    }

    private static void safely(Runnable callback) {
        try {
            callback.run();
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "a generation listener failed", t);
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cache.close();
    }
}
