package steering.bench;

import steering.model.engine.GenerationEngine;
import steering.model.engine.GenerationListener;
import steering.model.engine.GenerationRequest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Issue 11, point 3: time-to-first-token of a long prompt that arrives while streams are decoding, and the
 * inter-token gaps those streams see meanwhile. {@code streams} generations of {@code streamTokens} tokens start
 * together; once every one has produced {@code joinAfter} tokens, one request with a {@code longPrompt}-token prompt
 * is submitted. Reported: its TTFT, and the p50/p99/max gap between consecutive tokens of the running streams over
 * the window from its arrival until its first token + 1 s (and, for comparison, the p50/p99 over the second before
 * it arrived).
 */
final class Interference {
    static final long WINDOW_TAIL_NS = TimeUnit.SECONDS.toNanos(1);

    record Result(double ttftMs, double gapP50Ms, double gapP99Ms, double gapMaxMs, int gaps,
                  double beforeP50Ms, double beforeP99Ms) {
        Map<String, Object> toMap() {
            Object[] pairs = {"ttft_ms", ttftMs, "itl_p50_ms", gapP50Ms, "itl_p99_ms", gapP99Ms, "itl_max_ms", gapMaxMs,
                    "gaps_in_window", gaps, "itl_p50_before_ms", beforeP50Ms, "itl_p99_before_ms", beforeP99Ms};
            Map<String, Object> m = new LinkedHashMap<>();
            for (int i = 0; i < pairs.length; i += 2) m.put((String) pairs[i], pairs[i + 1]);
            return m;
        }
    }

    /** Token timestamps of one generation, written on the engine thread and read after {@link #done}. */
    private static final class Recorder implements GenerationListener {
        final long[] times;
        int count;
        final CountDownLatch joined;
        final int joinAfter;
        final CountDownLatch done;
        volatile Throwable error;

        Recorder(int maxTokens, int joinAfter, CountDownLatch joined, CountDownLatch done) {
            this.times = new long[maxTokens];
            this.joinAfter = joinAfter;
            this.joined = joined;
            this.done = done;
        }

        @Override
        public void onToken(int tokenId, String textDelta) {
            if (count < times.length) times[count++] = System.nanoTime();
            if (count == joinAfter && joined != null) joined.countDown();
        }

        @Override
        public void onFinish(FinishReason reason, String textDelta, int promptTokens, int completionTokens) {
            done.countDown();
        }

        @Override
        public void onError(Throwable e) {
            error = e;
            if (joined != null) while (joined.getCount() > 0) joined.countDown();
            done.countDown();
        }

        long[] recorded() {
            return java.util.Arrays.copyOf(times, count);
        }
    }

    static Result run(GenerationEngine engine, int[] streamPrompt, int streams, int streamTokens, int joinAfter,
                      int[] longPrompt, int longTokens) throws InterruptedException {
        CountDownLatch joined = new CountDownLatch(streams);
        CountDownLatch done = new CountDownLatch(streams + 1);
        List<Recorder> running = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            Recorder r = new Recorder(streamTokens, joinAfter, joined, done);
            running.add(r);
            engine.generate(request(streamPrompt, streamTokens, i), r);
        }
        await(joined, "the streams did not reach " + joinAfter + " tokens");
        Recorder longOne = new Recorder(longTokens, 1, null, done);
        long arrival = System.nanoTime();
        engine.generate(request(longPrompt, longTokens, streams), longOne);
        await(done, "the interference run did not finish");
        for (Recorder r : running) if (r.error != null) throw new IllegalStateException("a stream failed", r.error);
        if (longOne.error != null) throw new IllegalStateException("the long request failed", longOne.error);
        if (longOne.count == 0) throw new IllegalStateException("the long request produced no token");
        long first = longOne.times[0];
        List<long[]> stamps = running.stream().map(Recorder::recorded).toList();
        if (stamps.stream().anyMatch(t -> t[t.length - 1] < first + WINDOW_TAIL_NS)) {
            System.err.println("warning: a stream finished before the window's end; raise --stream-tokens");
        }
        double[] gaps = Latency.gapsMs(stamps, arrival, first + WINDOW_TAIL_NS);
        double[] before = Latency.gapsMs(stamps, arrival - WINDOW_TAIL_NS, arrival);
        return new Result((first - arrival) / 1e6, Latency.percentile(gaps, 50), Latency.percentile(gaps, 99),
                gaps.length == 0 ? Double.NaN : gaps[gaps.length - 1], gaps.length,
                Latency.percentile(before, 50), Latency.percentile(before, 99));
    }

    private static GenerationRequest request(int[] prompt, int tokens, long seed) {
        return new GenerationRequest(prompt, tokens, 0f, 0, 0f, seed, List.of(), true, List.of());
    }

    private static void await(CountDownLatch latch, String message) throws InterruptedException {
        if (!latch.await(30, TimeUnit.MINUTES)) throw new IllegalStateException(message);
    }
}
