package steering.model.engine;

import steering.model.loader.LoadedModel;
import steering.model.runtime.DecoderTransformer;
import steering.model.runtime.ForwardResult;
import steering.model.runtime.ForwardStep;
import steering.common.steer.HookPoint;
import steering.model.runtime.Intervention;
import steering.model.runtime.KvCache;
import steering.model.runtime.ModelConfig;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs every forward of one model on a single thread, with continuous batching: generations join the running batch
 * as soon as a cache slot is free, each step decodes one token for all of them in one forward, and finished ones
 * leave at once. One-shot forwards (Score, CaptureActivations) are run between steps.
 *
 * <p>Prompts are prefilled with the batch, in chunks: each step carries the running decodes plus up to
 * {@code prefillChunk} prompt tokens of the generations waiting to start (several short prompts that arrive together
 * share one chunk; a long prompt takes several steps). So a 1,000-token prompt never stalls the running streams for
 * its whole prefill, and the decodes ride along with the chunk's weight reads.
 *
 * <p>Slots: decoding sequences hold cache slots 0..n-1 (a batched decode reads a contiguous view of them), the
 * sequences still prefilling hold the next slots in arrival order, and join the decoders in that order.
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

    /** A one-shot job: {@code tokens} is what the metrics count it as. */
    private record OneShot(int tokens, Function<DecoderTransformer, ?> work, CompletableFuture<Object> result) {}

    private final class Running {
        final GenerationRequest request;
        final GenerationListener listener;
        final Handle handle;
        final Sampler sampler;
        final TextStream text;
        final List<Integer> generated = new ArrayList<>();
        int position;      // tokens in this sequence's cache (while prefilling: prompt tokens already cached)
        int lastToken;
        RuntimeException failure; // set when its logits stopped being finite: it ends with this error
        List<Intervention> interventions; // the request's, plus the conditional ones its prompt switched on
        // CAST: per condition hook, the sum of the prompt's residuals there, gathered chunk by chunk
        final Map<HookPoint, double[]> conditionSums = new HashMap<>();

        Running(GenerationRequest request, GenerationListener listener, Handle handle) {
            this.request = request;
            this.listener = listener;
            this.handle = handle;
            this.sampler = new Sampler(request.temperature(), request.topK(), request.topP(), request.seed());
            this.text = new TextStream(request.stopStrings());
            this.interventions = request.interventions();
            for (Conditional c : request.conditionals()) conditionSums.computeIfAbsent(c.hook(), h -> new double[c.direction().length]);
        }

        /** After the prompt: the conditions decided, the ones met added for the new tokens. */
        void decideConditions() {
            if (request.conditionals().isEmpty()) return;
            List<Conditional.Result> results = new ArrayList<>();
            List<Intervention> active = new ArrayList<>(request.interventions());
            for (Conditional c : request.conditionals()) {
                Conditional.Result result = c.decide(conditionSums.get(c.hook()));
                results.add(result);
                if (result.met()) active.add(c.intervention());
            }
            interventions = List.copyOf(active);
            safely(() -> listener.onConditions(results));
        }
    }

    private record Pending(GenerationRequest request, GenerationListener listener, Handle handle) {}

    private final LoadedModel model;
    private final EngineObserver observer;
    private final ModelConfig cfg;
    private final KvCache cache;
    private final BlockingQueue<Object> inbox;
    private final List<Running> running = new ArrayList<>();
    private final List<Running> prefilling = new ArrayList<>(); // slots running.size() + i, in arrival order
    private final int prefillChunk;
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
        this(model, maxBatch, queueLimit, DEFAULT_PREFILL_CHUNK, observer);
    }

    /** Prompt tokens one step prefills when nothing says otherwise (see docs/benchmarks.md for the trade-off). */
    public static final int DEFAULT_PREFILL_CHUNK = 128;

    /**
     * @param prefillChunk prompt tokens prefilled per step, across the waiting generations (at least 1)
     */
    public GenerationEngine(LoadedModel model, int maxBatch, int queueLimit, int prefillChunk, EngineObserver observer) {
        if (prefillChunk < 1) throw new IllegalArgumentException("prefill chunk must be at least 1, got " + prefillChunk);
        this.prefillChunk = prefillChunk;
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
        return run(steps.stream().mapToInt(ForwardStep::length).sum(), m -> m.forward(steps, null));
    }

    /**
     * Runs {@code work} on the engine thread between decode steps, with the model to itself (ScoreGradients: a
     * forward and backward that must not share a step with the decodes, and whose autograd state is per thread).
     *
     * @param tokens the tokens it processes, for the metrics
     */
    @SuppressWarnings("unchecked")
    public <T> CompletableFuture<T> run(int tokens, Function<DecoderTransformer, T> work) {
        CompletableFuture<Object> f = new CompletableFuture<>();
        offer(new OneShot(tokens, work, f));
        return (CompletableFuture<T>) f;
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
                if (running.isEmpty() && prefilling.isEmpty() && inbox.isEmpty()) {
                    synchronized (wake) {
                        if (inbox.isEmpty()) wake.wait(1000);
                    }
                    continue;
                }
                admit();
                active = running.size() + prefilling.size();
                if (!running.isEmpty() || !prefilling.isEmpty()) step();
                active = running.size() + prefilling.size();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Throwable t) {
                // never let one bad step kill the engine: fail the sequences involved and go on
                LOG.log(Level.SEVERE, "decode step failed", t);
                for (Running r : running) safely(() -> r.listener.onError(t));
                for (Running r : prefilling) safely(() -> r.listener.onError(t));
                running.clear();
                prefilling.clear();
                active = 0;
            }
        }
    }

    /** Takes queued work: one-shot forwards run now, generations take a slot and wait for their prefill. */
    private void admit() {
        int budget = inbox.size();
        for (int i = 0; i < budget; i++) {
            Object job = inbox.peek();
            if (job == null) break;
            if (job instanceof Pending && running.size() + prefilling.size() >= cache.slots()) {
                // keep FIFO for generations; let one-shots behind it wait too, to stay simple and fair
                break;
            }
            inbox.poll();
            if (job instanceof OneShot o) {
                try {
                    long start = System.nanoTime();
                    Object result = o.work.apply(model.transformer());
                    observer.onOneShot(o.tokens, System.nanoTime() - start);
                    o.result.complete(result);
                } catch (Throwable t) {
                    o.result.completeExceptionally(t);
                }
            } else if (job instanceof Pending p) {
                join(p);
            }
        }
    }

    private void join(Pending p) {
        if (p.handle.cancelled.get()) {
            safely(() -> p.listener.onFinish(GenerationListener.FinishReason.CANCELLED, "", p.request.promptIds().length, 0));
            return;
        }
        prefilling.add(new Running(p.request, p.listener, p.handle));
    }

    /**
     * One forward: a token for every running sequence, then up to prefillChunk prompt tokens of the sequences
     * waiting to start (first come, first served), whose last chunk also yields their first token.
     */
    private void step() {
        dropCancelledPrefills();
        List<ForwardStep> steps = new ArrayList<>(running.size() + prefilling.size());
        for (int slot = 0; slot < running.size(); slot++) {
            Running r = running.get(slot);
            steps.add(ForwardStep.decode(r.lastToken, r.position, slot, r.interventions));
        }
        int budget = prefillChunk;
        int chunks = 0;
        int prefillTokens = 0;
        for (int i = 0; i < prefilling.size() && budget > 0; i++) {
            Running r = prefilling.get(i);
            int[] prompt = r.request.promptIds();
            int take = Math.min(budget, prompt.length - r.position);
            int[] chunk = java.util.Arrays.copyOfRange(prompt, r.position, r.position + take);
            boolean last = r.position + take == prompt.length;
            steps.add(new ForwardStep(chunk, r.position, running.size() + i, r.request.interventions(),
                    last ? take - 1 : take, r.conditionSums.keySet()));
            budget -= take;
            prefillTokens += take;
            chunks++;
        }
        long start = System.nanoTime();
        List<ForwardResult> results = model.transformer().forward(steps, cache);
        long elapsed = System.nanoTime() - start;
        int decoders = running.size();
        if (decoders > 0) observer.onDecodeStep(decoders, chunks == 0 ? elapsed : elapsed * decoders / (decoders + prefillTokens));
        if (prefillTokens > 0) observer.onPrefill(prefillTokens, elapsed * prefillTokens / (decoders + prefillTokens));

        List<Running> finished = new ArrayList<>();
        for (int i = 0; i < decoders; i++) {
            Running r = running.get(i);
            r.position++;
            accept(r, results.get(i).logits(), 0);
            if (isFinished(r)) finished.add(r);
        }
        // prefills advance; the ones whose prompt is complete join the decoders, in slot order
        for (int i = 0; i < chunks; i++) {
            Running r = prefilling.get(i);
            r.position += steps.get(decoders + i).length();
            results.get(decoders + i).captured().forEach((hook, rows) -> {
                double[] sum = r.conditionSums.get(hook);
                for (int k = 0; k < rows.length; k++) sum[k % sum.length] += rows[k];
            });
        }
        for (int joined = 0; !prefilling.isEmpty()
                && prefilling.get(0).position == prefilling.get(0).request.promptIds().length; joined++) {
            Running r = prefilling.remove(0); // its slot is running.size(): it joins the decoders without a move
            r.decideConditions();
            running.add(r);
            accept(r, results.get(decoders + joined).logits(), 0);
            if (isFinished(r)) finished.add(r);
        }
        for (Running r : finished) retire(r);
    }

    /** A generation cancelled before its first token leaves without a forward; the ones behind it move down. */
    private void dropCancelledPrefills() {
        for (int i = 0; i < prefilling.size(); i++) {
            Running r = prefilling.get(i);
            if (!r.handle.cancelled.get()) continue;
            safely(() -> r.listener.onFinish(GenerationListener.FinishReason.CANCELLED, "", r.request.promptIds().length, 0));
            prefilling.remove(i);
            shiftPrefillsDown(running.size() + i);
            i--;
        }
    }

    /** Moves every prefilling sequence at slot >= {@code from} + 1 one slot down (their cached prefix with them). */
    private void shiftPrefillsDown(int from) {
        for (int i = from - running.size(); i < prefilling.size(); i++) {
            int slot = running.size() + i;
            cache.moveSlot(slot + 1, slot, prefilling.get(i).position);
        }
    }

    /** Samples the next token from the logits and tells the listener; sets lastToken, or marks the sequence done. */
    private void accept(Running r, float[] logits, int offset) {
        if (r.handle.cancelled.get()) return;
        if (!finite(logits, offset, cfg.vocabSize())) {
            // an argmax over NaN is token 0, again and again: end the sequence with the reason instead
            r.failure = nonFinite(r);
            r.lastToken = -1;
            return;
        }
        int token = r.sampler.next(logits, offset, cfg.vocabSize());
        boolean eos = !r.request.ignoreEos() && cfg.eosTokenIds().contains(token);
        if (eos) {
            r.lastToken = -1;
            return;
        }
        r.generated.add(token);
        r.lastToken = token;
        TokenLogprobs lp = r.request.topLogprobs() < 0 ? null
                : TokenLogprobs.of(logits, offset, cfg.vocabSize(), token, r.request.topLogprobs());
        String delta = r.text.advance(decodeGenerated(r));
        if (!r.text.stopped()) safely(() -> r.listener.onToken(token, delta, lp));
        else if (!delta.isEmpty()) safely(() -> r.listener.onToken(token, delta, lp));
    }

    private static boolean finite(float[] logits, int offset, int n) {
        for (int i = offset; i < offset + n; i++) if (!Float.isFinite(logits[i])) return false;
        return true;
    }

    private static RuntimeException nonFinite(Running r) {
        String at = "after " + r.generated.size() + " generated tokens";
        if (r.interventions.isEmpty()) {
            return io.grpc.Status.INTERNAL.withDescription("the model's logits became non-finite " + at).asRuntimeException();
        }
        return steering.common.grpc.Errors.invalid("interventions", "the residual stream became non-finite " + at
                + ": a vector x scale overflows float32; use a smaller scale");
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
        if (r.failure != null && !r.handle.cancelled.get()) safely(() -> r.listener.onError(r.failure));
        else safely(() -> r.listener.onFinish(reason, finalTail, r.request.promptIds().length, r.generated.size()));
        int slot = running.indexOf(r);
        if (slot < 0) return;
        int last = running.size() - 1;
        if (slot != last) {
            Running moved = running.get(last);
            cache.moveSlot(last, slot, moved.position);
            running.set(slot, moved);
        }
        running.remove(last);
        shiftPrefillsDown(last);
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
