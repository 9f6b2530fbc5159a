package steering.model.bootstrap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import steering.model.engine.EngineObserver;
import steering.model.engine.GenerationEngine;

import java.util.function.Supplier;

/**
 * Prometheus metrics of the engine (served at /q/metrics with gRPC's own request metrics): generated and prefilled
 * tokens (rate() gives tokens/s), decode-step latency and batch size, running sequences and queue depth.
 */
final class EngineMetrics implements EngineObserver {
    private final Counter generatedTokens;
    private final Counter prefillTokens;
    private final Counter oneShotTokens;
    private final Timer decodeStep;
    private final Timer prefill;
    private final DistributionSummary batchSize;

    EngineMetrics(MeterRegistry registry, Supplier<GenerationEngine> engine) {
        generatedTokens = Counter.builder("steering.model.generated.tokens").description("tokens generated").register(registry);
        prefillTokens = Counter.builder("steering.model.prefill.tokens").description("prompt tokens prefilled").register(registry);
        oneShotTokens = Counter.builder("steering.model.oneshot.tokens").description("tokens run by Score and CaptureActivations").register(registry);
        decodeStep = Timer.builder("steering.model.decode.step").description("one batched decode step")
                .publishPercentileHistogram().register(registry);
        prefill = Timer.builder("steering.model.prefill").description("one prompt's prefill").publishPercentileHistogram().register(registry);
        batchSize = DistributionSummary.builder("steering.model.decode.batch.size").description("sequences per decode step")
                .serviceLevelObjectives(1, 2, 4, 8, 16, 32).register(registry);
        Gauge.builder("steering.model.running.sequences", () -> engine.get() == null ? 0 : engine.get().activeSequences())
                .description("sequences being decoded").register(registry);
        Gauge.builder("steering.model.queue.depth", () -> engine.get() == null ? 0 : engine.get().queuedRequests())
                .description("requests waiting for the engine").register(registry);
    }

    @Override
    public void onDecodeStep(int batch, long nanos) {
        generatedTokens.increment(batch);
        batchSize.record(batch);
        decodeStep.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    @Override
    public void onPrefill(int promptTokens, long nanos) {
        prefillTokens.increment(promptTokens);
        generatedTokens.increment(); // the prefill's logits give the first new token
        prefill.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    @Override
    public void onOneShot(int tokens, long nanos) {
        oneShotTokens.increment(tokens);
    }
}
