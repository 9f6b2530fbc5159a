package steering.vector.service;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import steering.common.grpc.Errors;
import steering.common.grpc.Pacer;
import steering.common.ops.OperationContext;
import steering.common.ops.OperationRegistry;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.methods.ScaleCalibration;
import steering.vector.methods.Vec;
import steering.vector.registry.VectorRegistry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Sweeps a stored vector's scale and keeps the one with the best behaviour x coherence (see
 * {@link ScaleCalibration} for the measures). For every scale it generates from the prompts with the same seeds,
 * scores those generations with the unsteered model (coherence) and measures the behaviour: the target text's
 * log-prob under steering, or the target SAE features on the generations re-read unsteered.
 */
public final class ScaleCalibrator {
    static final java.time.Duration BUSY_WAIT = java.time.Duration.ofMinutes(10);
    static final List<String> DEFAULT_PROMPTS = List.of("Once upon a time", "I think", "The weather today");

    private final ModelClient model;
    private final SaeClient sae;
    private final VectorRegistry vectors;

    public ScaleCalibrator(ModelClient model, SaeClient sae, VectorRegistry vectors) {
        this.model = model;
        this.sae = sae;
        this.vectors = vectors;
    }

    /** A checked calibration; every text in it tokenized once, here, and sent onward as token ids. */
    record Plan(SteeringVector vector, List<int[]> promptIds, List<Integer> fromIndex, double[] scales,
                ScaleCalibration.Behaviour kind, List<int[]> targetIds, String saeId, int[] features, double[] weights,
                int samples, int maxTokens, float temperature, long seed, boolean save, int concurrency,
                CalibrateScaleRequest request) {}

    public OperationRegistry.Task prepare(CalibrateScaleRequest r, VectorBuilder builder) throws java.io.IOException {
        if (r.getVectorId().isEmpty()) throw Errors.invalid("vector_id", "a vector id is required");
        SteeringVector v = vectors.get(r.getVectorId());
        if (v == null) throw Errors.notFound("vector '" + r.getVectorId() + "' does not exist");
        ModelInfo info = model.info();
        if (!v.getModelId().equals(info.getModelId())) {
            throw Status.FAILED_PRECONDITION.withDescription("vector_id: vector '" + v.getId() + "' was built on model " + v.getModelId()
                    + ", but model-service serves " + info.getModelId()).asRuntimeException();
        }
        List<String> texts = r.getPromptsCount() == 0 ? DEFAULT_PROMPTS : r.getPromptsList();
        if (texts.size() > 64) throw Errors.invalid("prompts", texts.size() + " prompts is outside [1, 64]");
        List<int[]> ids = new ArrayList<>();
        List<Integer> from = new ArrayList<>();
        int rows = v.getVector().getShapeCount() == 2 ? (int) v.getVector().getShape(0) : 1;
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i).isEmpty()) throw Errors.invalid("prompts[" + i + "]", "is empty");
            Prompt p = Prompt.newBuilder().setText(texts.get(i)).setAddBos(true).build();
            int[] t = model.tokenize(p, "prompts[" + i + "]").getIdsList().stream().mapToInt(Integer::intValue).toArray();
            if (v.getPositions() == PositionPolicy.PROMPT_FRONT && t.length < rows) {
                throw Errors.invalid("prompts[" + i + "]", "has " + t.length + " tokens; this PROMPT_FRONT vector adds " + rows
                        + " rows, so every prompt needs at least " + rows + " tokens");
            }
            ids.add(t);
            from.add(Interventions.fromIndex(v, p, t, model));
        }
        double[] scales = null;
        if (r.getScalesCount() > 0) {
            if (r.getScalesCount() > 32) throw Errors.invalid("scales", r.getScalesCount() + " scales is outside [1, 32]");
            scales = new double[r.getScalesCount()];
            for (int i = 0; i < scales.length; i++) {
                double s = r.getScales(i);
                if (!Double.isFinite(s) || Math.abs(s) > 1e6) throw Errors.invalid("scales[" + i + "]", s + " is outside [-1e6, 1e6]");
                scales[i] = s;
            }
        }
        ScaleCalibration.Behaviour kind;
        List<int[]> targetIds = new ArrayList<>();
        String saeId = "";
        int[] features = new int[0];
        double[] weights = new double[0];
        switch (r.getBehaviourCase()) {
            case TARGET_TEXT -> {
                kind = ScaleCalibration.Behaviour.TARGET_TEXT;
                List<String> targetTexts = r.getTargetText().getTextsList();
                if (targetTexts.isEmpty()) throw Errors.invalid("target_text.texts", "at least one text is required");
                if (targetTexts.size() > 64) throw Errors.invalid("target_text.texts", targetTexts.size() + " texts is outside [1, 64]");
                for (int i = 0; i < targetTexts.size(); i++) {
                    if (targetTexts.get(i).isEmpty()) throw Errors.invalid("target_text.texts[" + i + "]", "is empty");
                    // as Score tokenizes a continuation_text: no BOS
                    targetIds.add(model.tokenize(targetTexts.get(i), false, "target_text.texts[" + i + "]"));
                }
            }
            case TARGET_FEATURES -> {
                kind = ScaleCalibration.Behaviour.TARGET_FEATURES;
                saeId = r.getTargetFeatures().getSaeId().isEmpty() ? v.getSaeId() : r.getTargetFeatures().getSaeId();
                SaeInfo s = builder.checkedSae(saeId, "target_features.sae_id", info);
                VectorBuilder.checkFeatures(r.getTargetFeatures().getFeaturesList(), s.getDSae(), "target_features.features");
                features = r.getTargetFeatures().getFeaturesList().stream().mapToInt(WeightedFeature::getFeature).toArray();
                weights = r.getTargetFeatures().getFeaturesList().stream().mapToDouble(WeightedFeature::getWeight).toArray();
            }
            default -> {
                List<WeightedFeature> own = v.getFeaturesList().stream().filter(f -> f.getWeight() > 0).toList();
                if (v.getSaeId().isEmpty() || own.isEmpty()) {
                    throw Errors.invalid("behaviour", "set target_text or target_features: a " + v.getMethod()
                            + " vector has no SAE features to measure");
                }
                kind = ScaleCalibration.Behaviour.TARGET_FEATURES;
                saeId = v.getSaeId();
                builder.checkedSae(saeId, "vector_id", info);
                features = own.stream().mapToInt(WeightedFeature::getFeature).toArray();
                weights = own.stream().mapToDouble(WeightedFeature::getWeight).toArray();
            }
        }
        int samples = r.getSamplesPerPrompt() == 0 ? 2 : r.getSamplesPerPrompt();
        if (samples < 1 || samples > 16) throw Errors.invalid("samples_per_prompt", samples + " is outside [1, 16]");
        int maxTokens = r.getMaxTokens() == 0 ? 24 : r.getMaxTokens();
        if (maxTokens < 1 || maxTokens > 256) throw Errors.invalid("max_tokens", maxTokens + " is outside [1, 256]");
        float temperature = r.hasTemperature() ? r.getTemperature() : 0.8f;
        if (!(temperature >= 0 && temperature <= 10)) throw Errors.invalid("temperature", temperature + " is outside [0, 10]");
        long seed = r.hasSeed() ? r.getSeed() : 1;
        boolean save = !r.hasSave() || r.getSave();
        Plan plan = new Plan(v, ids, from, scales, kind, targetIds, saeId, features, weights, samples, maxTokens,
                temperature, seed, save, Math.max(1, info.getMaxBatchSize()), r);
        return ctx -> run(plan, ctx);
    }

    /** The generations of one scale: per prompt and sample, the new token ids. */
    private List<List<int[]>> generateAll(Plan p, double scale, ExecutorService pool, OperationContext ctx) throws Exception {
        List<List<Future<int[]>>> futures = new ArrayList<>();
        for (int pi = 0; pi < p.promptIds().size(); pi++) {
            List<Future<int[]>> row = new ArrayList<>();
            for (int k = 0; k < p.samples(); k++) {
                int prompt = pi;
                long seed = p.seed() + k;
                row.add(pool.submit(() -> {
                    GenerateRequest.Builder b = GenerateRequest.newBuilder().setPrompt(ModelClient.tokens(p.promptIds().get(prompt)))
                            .setSampling(SamplingParams.newBuilder().setTemperature(p.temperature()).setTopP(0.95f)
                                    .setSeed(seed).setMaxTokens(p.maxTokens()).setIgnoreEos(true));
                    if (scale != 0) b.addInterventions(Interventions.of(p.vector(), scale, p.fromIndex().get(prompt)));
                    // the pool keeps within model-service's batch; a queue full of other clients' work is waited out
                    return Pacer.retryingWhenBusy(() -> model.generate(b.build()), BUSY_WAIT).ids();
                }));
            }
            futures.add(row);
        }
        List<List<int[]>> out = new ArrayList<>();
        for (List<Future<int[]>> row : futures) {
            List<int[]> r = new ArrayList<>();
            for (Future<int[]> f : row) {
                ctx.checkCancelled();
                try {
                    r.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof Exception ex ? ex : e;
                }
            }
            out.add(r);
        }
        return out;
    }

    /** Uniformly random tokens (no BOS/EOS), as many per sample as the unsteered generation has: coherence 0. */
    private List<List<int[]>> randomTokens(Plan p, List<List<int[]>> like) {
        ModelInfo info = model.info();
        java.util.Set<Integer> special = new java.util.HashSet<>(info.getEosTokenIdsList());
        special.add(info.getBosTokenId());
        java.util.Random rnd = new java.util.Random(p.seed());
        List<List<int[]>> out = new ArrayList<>();
        for (List<int[]> row : like) {
            List<int[]> r = new ArrayList<>();
            for (int[] g : row) {
                int[] t = new int[Math.max(1, g.length)];
                for (int i = 0; i < t.length; i++) {
                    int id;
                    do {
                        id = rnd.nextInt(info.getVocabSize());
                    } while (special.contains(id));
                    t[i] = id;
                }
                r.add(t);
            }
            out.add(r);
        }
        return out;
    }

    /** Mean log-prob per token of the generations under the unsteered model. */
    private double unsteeredLogprob(Plan p, List<List<int[]>> gens) {
        double total = 0;
        int count = 0;
        for (int pi = 0; pi < gens.size(); pi++) {
            for (int[] g : gens.get(pi)) {
                if (g.length == 0) continue;
                ScoreRequest score = ScoreRequest.newBuilder().setPrompt(ModelClient.tokens(p.promptIds().get(pi)))
                        .setContinuationTokens(TokenIds.newBuilder().addAllIds(java.util.Arrays.stream(g).boxed().toList())).build();
                ScoreResponse r = Pacer.retryingWhenBusy(() -> model.score(score), BUSY_WAIT);
                total += r.getTotalLogprob();
                count += r.getLogprobsCount();
            }
        }
        return count == 0 ? 0 : total / count;
    }

    private double behaviour(Plan p, double scale, List<List<int[]>> gens) {
        if (p.kind() == ScaleCalibration.Behaviour.TARGET_TEXT) {
            double total = 0;
            int count = 0;
            for (int pi = 0; pi < p.promptIds().size(); pi++) {
                for (int[] t : p.targetIds()) {
                    ScoreRequest.Builder b = ScoreRequest.newBuilder().setPrompt(ModelClient.tokens(p.promptIds().get(pi)))
                            .setContinuationTokens(ModelClient.tokens(t).getTokens());
                    if (scale != 0) b.addInterventions(Interventions.of(p.vector(), scale, p.fromIndex().get(pi)));
                    ScoreResponse r = Pacer.retryingWhenBusy(() -> model.score(b.build()), BUSY_WAIT);
                    total += r.getTotalLogprob();
                    count += r.getLogprobsCount();
                }
            }
            return count == 0 ? 0 : total / count;
        }
        List<Prompt> seqs = new ArrayList<>();
        for (int pi = 0; pi < gens.size(); pi++) {
            for (int[] g : gens.get(pi)) {
                int[] prompt = p.promptIds().get(pi);
                int[] all = java.util.Arrays.copyOf(prompt, prompt.length + g.length);
                System.arraycopy(g, 0, all, prompt.length, g.length);
                seqs.add(ModelClient.tokens(all));
            }
        }
        float[] mean = Vec.mean(sae.encodeMean(p.saeId(), seqs, false));
        double s = 0;
        for (int k = 0; k < p.features().length; k++) s += p.weights()[k] * mean[p.features()[k]];
        return s;
    }

    private CalibrateScaleResult run(Plan p, OperationContext ctx) throws Exception {
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(p.concurrency(), r -> {
            Thread t = new Thread(r, "calibrate-scale");
            t.setDaemon(true);
            return t;
        });
        try {
            ctx.progress(0.0, "generating unsteered text");
            List<List<int[]>> base = generateAll(p, 0, pool, ctx);
            double lp0 = unsteeredLogprob(p, base);
            double lpRandom = unsteeredLogprob(p, randomTokens(p, base));
            double distinct0 = ScaleCalibration.distinctFraction(base.stream().flatMap(List::stream).toList());
            double[] scales = p.scales();
            if (scales == null) {
                List<Prompt> seqs = new ArrayList<>();
                for (int pi = 0; pi < base.size(); pi++) {
                    for (int[] g : base.get(pi)) {
                        int[] prompt = p.promptIds().get(pi);
                        int[] all = java.util.Arrays.copyOf(prompt, prompt.length + g.length);
                        System.arraycopy(g, 0, all, prompt.length, g.length);
                        seqs.add(ModelClient.tokens(all));
                    }
                }
                double r = ApproximatorTrainer.meanRowNorm(model.capturePerToken(seqs, p.vector().getHook().getName(), true),
                        (int) p.vector().getVector().getShape(p.vector().getVector().getShapeCount() - 1));
                scales = ScaleCalibration.defaultScales(r, rowNorm(p.vector()));
            }
            List<ScaleCalibration.Measure> measures = new ArrayList<>();
            for (int i = 0; i < scales.length; i++) {
                double s = scales[i];
                ctx.update((double) i / scales.length, "scale " + fmt(s) + " (" + (i + 1) + " of " + scales.length + ")", Map.of("scale", s));
                List<List<int[]>> gens = s == 0 ? base : generateAll(p, s, pool, ctx);
                double lp = s == 0 ? lp0 : unsteeredLogprob(p, gens);
                double distinct = ScaleCalibration.distinctFraction(gens.stream().flatMap(List::stream).toList());
                double b = behaviour(p, s, gens);
                measures.add(new ScaleCalibration.Measure(s, b, lp, distinct));
            }
            List<ScaleCalibration.Point> points = ScaleCalibration.score(measures, p.kind(), lp0, lpRandom, distinct0);
            ScaleCalibration.Point best = ScaleCalibration.best(points);
            Instant now = Instant.now();
            VectorCalibration.Builder cal = VectorCalibration.newBuilder().setBestScale(best.scale())
                    .setBehaviourMeasure(p.kind() == ScaleCalibration.Behaviour.TARGET_TEXT ? "target_text_logprob" : "target_features")
                    .setUnsteeredLogprob(lp0).setRandomLogprob(lpRandom).setRequest(p.request())
                    .setCalibratedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                    .setWallSeconds((System.nanoTime() - start) / 1e9);
            for (ScaleCalibration.Point pt : points) {
                cal.addPoints(VectorCalibrationPoint.newBuilder().setScale(pt.scale()).setBehaviour(pt.behaviour())
                        .setCoherence(pt.coherence()).setScore(pt.score()).setRawBehaviour(pt.rawBehaviour())
                        .setSteeredLogprob(pt.steeredLogprob()).setDistinctFraction(pt.distinctFraction()));
            }
            VectorCalibration calibration = cal.build();
            SteeringVector stored = p.vector();
            if (p.save()) {
                stored = vectors.setCalibration(p.vector().getId(), calibration);
                if (stored == null) throw Errors.notFound("vector '" + p.vector().getId() + "' was deleted during the calibration");
            } else {
                stored = stored.toBuilder().setCalibration(calibration).build();
            }
            ctx.update(1.0, "best scale " + fmt(best.scale()), Map.of("best_scale", best.scale(), "best_score", best.score()));
            return CalibrateScaleResult.newBuilder().setCalibration(calibration)
                    .setVector(stored.toBuilder().clearVector()).build();
        } finally {
            pool.shutdownNow();
        }
    }

    /** |v| for [d], the mean norm of the non-zero rows for [n, d]. */
    static double rowNorm(SteeringVector v) {
        float[] data = TensorCodec.toFloats(v.getVector());
        if (v.getVector().getShapeCount() == 1) return Vec.norm(data);
        int n = (int) v.getVector().getShape(0), d = (int) v.getVector().getShape(1);
        double s = 0;
        int k = 0;
        for (int r = 0; r < n; r++) {
            double x = Vec.rowNorm(data, r, d);
            if (x > 0) {
                s += x;
                k++;
            }
        }
        return k == 0 ? 0 : s / k;
    }

    private static String fmt(double s) {
        return String.format(java.util.Locale.ROOT, "%.4g", s);
    }
}
