package steering.vector.service;

import com.google.protobuf.Timestamp;
import steering.common.grpc.Errors;
import steering.common.ops.OperationContext;
import steering.common.ops.OperationRegistry;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.methods.Directions;
import steering.vector.methods.Ridge;
import steering.vector.methods.Vec;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.ArtifactStore;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Trains an SAE-TS effect approximator (Chalnev et al. 2024, {@code ft_effects/}): sample unit directions (SAE
 * decoder rows, two-row mixtures, Gaussian), give each a scale (fixed, or the one that raises the model's
 * next-token loss by a target amount, SAE-TS's {@code get_scale}), generate steered text from a prompt set, re-read
 * it unsteered through the SAE (token-mean activations), and take effect = mean steered activations - mean
 * unsteered activations. Then fit effect ~ x M + b by closed-form ridge regression (see {@link Ridge} for why),
 * with the penalty picked by 5-fold cross-validation and a held-out part for the reported R^2 and cosine.
 */
public final class ApproximatorTrainer {
    /** SAE-TS's generation prompts ({@code ft_effects/utils.py gen}). */
    public static final List<String> SAE_TS_PROMPTS = List.of("", "", "", "I think", "Breaking news", "Last night",
            "For sale", "The weather", "Dear Sir/Madam", "Preheat the oven", "It's interesting that", "Assistant:",
            "I went up to", "New study suggests");

    private final ModelClient model;
    private final SaeClient sae;
    private final ApproximatorRegistry registry;
    private final Datasets datasets;

    public ApproximatorTrainer(ModelClient model, SaeClient sae, ApproximatorRegistry registry, Datasets datasets) {
        this.model = model;
        this.sae = sae;
        this.registry = registry;
        this.datasets = datasets;
    }

    /** The request with its defaults filled in and checked; the prompts tokenized (with BOS) once, here. */
    record Plan(String id, SaeInfo sae, ModelInfo info, int decoder, int mixtures, int gaussian, List<int[]> promptIds,
                int samples, int baselineSamples, int sequenceLength, float temperature, int topK, float topP,
                Double fixedScale, double targetLossIncrease, List<String> lossTexts, int lossChunks, int chunkTokens,
                boolean includeBos, double[] lambdas, double validationFraction, long seed, int concurrency,
                TrainEffectApproximatorRequest request) {}

    /** The work of an operation and the request to record with it (its id resolved, so that a resumed run keeps it). */
    public record Job(TrainEffectApproximatorRequest request, OperationRegistry.Task task) {}

    /** Validates the request at once (INVALID_ARGUMENT naming the field) and returns the work for the operation. */
    public OperationRegistry.Task prepare(TrainEffectApproximatorRequest r, VectorBuilder builder) {
        return job(r, builder).task();
    }

    /** As {@link #prepare}, with the request to record. */
    public Job job(TrainEffectApproximatorRequest r, VectorBuilder builder) {
        ModelInfo info = model.info();
        SaeInfo s = builder.checkedSae(r.getSaeId(), "sae_id", info);
        String id = r.getApproximatorId().isEmpty()
                ? s.getId() + "-effects-" + VectorBuilder.STAMP.format(Instant.now()) : r.getApproximatorId();
        if (!ArtifactStore.validId(id)) throw Errors.invalid("approximator_id", "'" + id + "' must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        if (!r.getOverwrite() && registry.exists(id)) {
            throw io.grpc.Status.ALREADY_EXISTS.withDescription("approximator_id: '" + id + "' exists; set overwrite to replace it").asRuntimeException();
        }
        int m = s.getDSae();
        int decoder = r.hasDecoderDirections() ? r.getDecoderDirections() : 128;
        int mixtures = r.hasMixtureDirections() ? r.getMixtureDirections() : 64;
        int gaussian = r.hasRandomDirections() ? r.getRandomDirections() : 0;
        if (decoder < 0 || decoder > m) throw Errors.invalid("decoder_directions", decoder + " is outside [0, " + m + "] (d_sae)");
        if (mixtures < 0 || mixtures > 100_000) throw Errors.invalid("mixture_directions", mixtures + " is outside [0, 100000]");
        if (gaussian < 0 || gaussian > 100_000) throw Errors.invalid("random_directions", gaussian + " is outside [0, 100000]");
        if (mixtures > 0 && m < 2) throw Errors.invalid("mixture_directions", "mixtures need an SAE with at least 2 features");
        int total = decoder + mixtures + gaussian;
        if (total < 8 || total > 100_000) {
            throw Errors.invalid("decoder_directions", "decoder + mixture + random directions = " + total + " is outside [8, 100000]");
        }
        List<String> prompts = r.getPromptsCount() == 0 ? SAE_TS_PROMPTS : r.getPromptsList();
        if (prompts.size() > 256) throw Errors.invalid("prompts", prompts.size() + " prompts is outside [1, 256]");
        int samples = r.getSamplesPerPrompt() == 0 ? 1 : r.getSamplesPerPrompt();
        if (samples < 1 || samples > 64) throw Errors.invalid("samples_per_prompt", samples + " is outside [1, 64]");
        int baseline = r.getBaselineSamplesPerPrompt() == 0 ? 10 * samples : r.getBaselineSamplesPerPrompt();
        if (baseline < 1 || baseline > 1024) throw Errors.invalid("baseline_samples_per_prompt", baseline + " is outside [1, 1024]");
        int seqLen = r.getSequenceLength() == 0 ? 32 : r.getSequenceLength();
        if (seqLen < 4 || seqLen > Math.min(512, info.getMaxRequestTokens())) {
            throw Errors.invalid("sequence_length", seqLen + " is outside [4, " + Math.min(512, info.getMaxRequestTokens()) + "]");
        }
        List<int[]> promptIds = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            promptIds.add(model.tokenize(prompts.get(i), true, "prompts[" + i + "]"));
            int len = promptIds.get(i).length;
            if (len >= seqLen) throw Errors.invalid("prompts[" + i + "]", "has " + len + " tokens with BOS; it must be shorter than sequence_length " + seqLen);
        }
        float temperature = r.hasTemperature() ? r.getTemperature() : 1.0f;
        if (!(temperature >= 0 && temperature <= 10)) throw Errors.invalid("temperature", temperature + " is outside [0, 10]");
        int topK = r.hasTopK() ? r.getTopK() : 50;
        if (topK < 0 || topK > info.getVocabSize()) throw Errors.invalid("top_k", topK + " is outside [0, " + info.getVocabSize() + "]");
        float topP = r.hasTopP() ? r.getTopP() : 0.3f;
        if (!(topP >= 0 && topP <= 1)) throw Errors.invalid("top_p", topP + " is outside [0, 1]");
        Double fixed = null;
        if (r.hasFixedScale()) {
            if (!Double.isFinite(r.getFixedScale()) || r.getFixedScale() <= 0 || r.getFixedScale() > 1e6) {
                throw Errors.invalid("fixed_scale", r.getFixedScale() + " is outside (0, 1e6]");
            }
            fixed = r.getFixedScale();
        }
        double rise = r.hasTargetLossIncrease() ? r.getTargetLossIncrease() : 1.0;
        if (!(rise > 0 && rise <= 10)) throw Errors.invalid("target_loss_increase", rise + " is outside (0, 10]");
        int chunks = r.getLossChunks() == 0 ? 4 : r.getLossChunks();
        if (chunks < 1 || chunks > 256) throw Errors.invalid("loss_chunks", chunks + " is outside [1, 256]");
        int chunkTokens = r.getLossChunkTokens() == 0 ? 32 : r.getLossChunkTokens();
        if (chunkTokens < 4 || chunkTokens > Math.min(1024, info.getMaxRequestTokens())) {
            throw Errors.invalid("loss_chunk_tokens", chunkTokens + " is outside [4, " + Math.min(1024, info.getMaxRequestTokens()) + "]");
        }
        List<String> lossTexts;
        if (r.getLossTextsCount() > 0) {
            lossTexts = r.getLossTextsList();
        } else {
            String dataset = r.getLossDataset().isEmpty() ? "wikitext103-1000" : r.getLossDataset();
            lossTexts = datasets.texts(dataset, chunks * 4, "loss_dataset");
        }
        if (lossTexts.stream().allMatch(String::isBlank)) throw Errors.invalid("loss_texts", "at least one non-empty text is required");
        if (r.getLossTextsCount() > 10_000) throw Errors.invalid("loss_texts", r.getLossTextsCount() + " texts is outside [0, 10000]");
        if (r.getRidgeLambdasCount() > 64) throw Errors.invalid("ridge_lambdas", r.getRidgeLambdasCount() + " penalties is outside [0, 64]");
        double[] lambdas = r.getRidgeLambdasList().stream().mapToDouble(Double::doubleValue).toArray();
        for (int i = 0; i < lambdas.length; i++) {
            if (!(lambdas[i] > 0) || !Double.isFinite(lambdas[i])) throw Errors.invalid("ridge_lambdas[" + i + "]", lambdas[i] + " must be finite and > 0");
        }
        double vf = r.hasValidationFraction() ? r.getValidationFraction() : 0.1;
        if (!(vf >= 0 && vf <= 0.5)) throw Errors.invalid("validation_fraction", vf + " is outside [0, 0.5]");
        long seed = r.hasSeed() ? r.getSeed() : 1;
        int concurrency = r.getConcurrency() == 0 ? Math.max(1, info.getMaxBatchSize()) : r.getConcurrency();
        if (concurrency < 1 || concurrency > 256) throw Errors.invalid("concurrency", concurrency + " is outside [1, 256]");
        Plan plan = new Plan(id, s, info, decoder, mixtures, gaussian, promptIds, samples, baseline, seqLen, temperature, topK,
                topP, fixed, rise, lossTexts, chunks, chunkTokens, r.hasIncludeBos() && r.getIncludeBos(), lambdas, vf, seed,
                concurrency, r.toBuilder().setApproximatorId(id).build());
        return new Job(plan.request(), ctx -> run(plan, ctx));
    }

    /** The work of an operation that a restart interrupted, from the request it recorded (its id resolved). */
    public OperationRegistry.Task resume(TrainEffectApproximatorRequest r, VectorBuilder builder) {
        return ctx -> prepare(r, builder).run(ctx);
    }

    /** One measured direction. */
    record Measured(int index, float[] direction, float[] steeredMean, double scale, int tokens) {}

    private EffectApproximatorInfo run(Plan p, OperationContext ctx) throws Exception {
        long start = System.nanoTime();
        String hook = p.sae().getHook().getName();
        int d = p.info().getDModel(), m = p.sae().getDSae();
        int bos = p.info().getBosTokenId();

        ctx.progress(0.0, "planning directions");
        List<Directions.Spec> specs = Directions.plan(m, p.decoder(), p.mixtures(), p.gaussian(), p.seed());
        int[] needed = Directions.featuresNeeded(specs);
        Map<Integer, float[]> rows = new HashMap<>();
        for (int from = 0; from < needed.length; from += 2048) {
            int[] part = java.util.Arrays.copyOfRange(needed, from, Math.min(needed.length, from + 2048));
            SaeClient.Directions dirs = sae.directions(p.sae().getId(), part, false);
            for (int i = 0; i < part.length; i++) rows.put(part[i], java.util.Arrays.copyOfRange(dirs.rows(), i * d, (i + 1) * d));
        }

        // loss chunks: BOS, then chunk_tokens - 1 tokens of text
        ctx.progress(0.01, "measuring the unsteered loss and residual norm");
        List<int[]> chunks = new ArrayList<>();
        for (String t : p.lossTexts()) {
            if (chunks.size() >= p.lossChunks()) break;
            if (t.isBlank()) continue;
            int[] ids = model.tokenize(t, false);
            if (ids.length < 2) continue;
            chunks.add(java.util.Arrays.copyOf(ids, Math.min(ids.length, p.chunkTokens() - 1)));
        }
        if (chunks.isEmpty()) throw Errors.invalid("loss_texts", "no text has at least 2 tokens");
        List<Prompt> chunkPrompts = new ArrayList<>();
        for (int[] c : chunks) chunkPrompts.add(ModelClient.tokens(withBos(c, bos)));
        double residualNorm = meanRowNorm(model.capturePerToken(chunkPrompts, hook, true), d);
        double baseLoss = loss(chunks, null, 0, hook);

        List<int[]> promptIds = p.promptIds();

        ExecutorService pool = Executors.newFixedThreadPool(p.concurrency(), r -> {
            Thread t = new Thread(r, "effect-approximator");
            t.setDaemon(true);
            return t;
        });
        // a restarted operation keeps the baseline and the directions it had measured (its work directory)
        MeasuredDirections checkpoint = ctx.workDirectory().map(MeasuredDirections::new).orElse(null);
        Map<Integer, Measured> earlier = checkpoint == null ? Map.of() : checkpoint.load();
        AtomicLong calibrationNanos = new AtomicLong(), generationNanos = new AtomicLong(), sequences = new AtomicLong(), tokens = new AtomicLong();
        try {
            // baseline: unsteered generations
            ctx.progress(0.02, "generating the unsteered baseline");
            List<Future<float[]>> baseFutures = new ArrayList<>();
            float[] savedBaseline = checkpoint == null ? null : checkpoint.baseline().orElse(null);
            for (int k = 0; savedBaseline == null && k < p.baselineSamples(); k++) {
                int sample = k;
                baseFutures.add(pool.submit(() -> {
                    List<Prompt> seqs = new ArrayList<>();
                    for (int pi = 0; pi < promptIds.size(); pi++) {
                        ModelClient.Generated g = model.generate(generate(p, promptIds.get(pi), seedOf(p.seed(), -1, pi, sample), null, 0, hook));
                        seqs.add(ModelClient.tokens(g.all()));
                        sequences.incrementAndGet();
                        tokens.addAndGet(g.ids().length);
                    }
                    return Vec.mean(sae.encodeMean(p.sae().getId(), seqs, p.includeBos()));
                }));
            }
            List<float[]> baseMeans = new ArrayList<>();
            for (Future<float[]> f : baseFutures) baseMeans.add(await(f, ctx));
            float[] baseline = savedBaseline != null ? savedBaseline : Vec.mean(baseMeans);
            if (checkpoint != null && savedBaseline == null) checkpoint.saveBaseline(baseline);

            // steered: one task per direction
            AtomicInteger done = new AtomicInteger(earlier.size());
            AtomicInteger skipped = new AtomicInteger();
            List<Future<Measured>> futures = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) {
                int index = i;
                if (earlier.containsKey(index)) {
                    futures.add(java.util.concurrent.CompletableFuture.completedFuture(earlier.get(index)));
                    continue;
                }
                futures.add(pool.submit(() -> {
                    if (ctx.isCancelled()) return null;
                    float[] v;
                    try {
                        v = Directions.materialise(specs.get(index), rows, d);
                    } catch (Vec.ZeroVectorException e) {
                        skipped.incrementAndGet();
                        return null; // a dead (zero) decoder row
                    }
                    long t0 = System.nanoTime();
                    double scale = p.fixedScale() != null ? p.fixedScale()
                            : calibrate(v, chunks, baseLoss, p.targetLossIncrease(), residualNorm, hook);
                    long t1 = System.nanoTime();
                    calibrationNanos.addAndGet(t1 - t0);
                    List<Prompt> seqs = new ArrayList<>();
                    int toks = 0;
                    for (int pi = 0; pi < promptIds.size(); pi++) {
                        for (int k = 0; k < p.samples(); k++) {
                            if (ctx.isCancelled()) return null;
                            ModelClient.Generated g = model.generate(generate(p, promptIds.get(pi), seedOf(p.seed(), index, pi, k), v, scale, hook));
                            seqs.add(ModelClient.tokens(g.all()));
                            toks += g.ids().length;
                        }
                    }
                    float[] mean = Vec.mean(sae.encodeMean(p.sae().getId(), seqs, p.includeBos()));
                    generationNanos.addAndGet(System.nanoTime() - t1);
                    sequences.addAndGet(seqs.size());
                    tokens.addAndGet(toks);
                    Measured result = new Measured(index, v, mean, scale, toks);
                    if (checkpoint != null) checkpoint.save(result);
                    int n = done.incrementAndGet();
                    ctx.update(0.05 + 0.85 * n / specs.size(), "measured " + n + " of " + specs.size() + " directions",
                            Map.of("directions_done", (double) n, "last_scale", scale));
                    return result;
                }));
            }
            List<Measured> measured = new ArrayList<>();
            for (Future<Measured> f : futures) {
                Measured x = await(f, ctx);
                if (x != null) measured.add(x);
            }
            ctx.checkCancelled();
            if (measured.size() < 4) throw Errors.invalid("decoder_directions", "only " + measured.size() + " directions could be measured; at least 4 are needed");

            // fit
            ctx.progress(0.92, "fitting effect ~ x M + b (ridge)");
            long fitStart = System.nanoTime();
            int n = measured.size();
            float[][] x = new float[n][];
            float[][] y = new float[n][];
            float[] scales = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = measured.get(i).direction();
                y[i] = Vec.sub(measured.get(i).steeredMean(), baseline);
                scales[i] = (float) measured.get(i).scale();
            }
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < n; i++) order.add(i);
            Collections.shuffle(order, new Random(p.seed() ^ 0x5DEECE66DL));
            int held = (int) Math.round(p.validationFraction() * n);
            if (p.validationFraction() > 0 && held == 0 && n >= 10) held = 1;
            List<Integer> heldIdx = order.subList(0, held), trainIdx = order.subList(held, n);
            float[][] xt = new float[trainIdx.size()][], yt = new float[trainIdx.size()][];
            for (int i = 0; i < trainIdx.size(); i++) {
                xt[i] = x[trainIdx.get(i)];
                yt[i] = y[trainIdx.get(i)];
            }
            double[] lambdas = p.lambdas().length > 0 ? p.lambdas() : Ridge.defaultLambdas(xt);
            double lambda = lambdas[0];
            if (lambdas.length > 1) lambda = Ridge.crossValidate(xt, yt, lambdas, 5, p.seed()).lambda();
            Ridge.Model fit = Ridge.fit(xt, yt, lambda);
            float[] trainMeans = meanColumns(yt, m);
            List<float[]> tTruth = new ArrayList<>(), tPred = new ArrayList<>();
            for (int i = 0; i < xt.length; i++) {
                tTruth.add(yt[i]);
                tPred.add(fit.predict(xt[i]));
            }
            List<float[]> hTruth = new ArrayList<>(), hPred = new ArrayList<>(), hBias = new ArrayList<>();
            for (int i : heldIdx) {
                hTruth.add(y[i]);
                hPred.add(fit.predict(x[i]));
                hBias.add(fit.b());
            }
            double fitSeconds = (System.nanoTime() - fitStart) / 1e9;
            double minScale = Double.POSITIVE_INFINITY, maxScale = 0, sumScale = 0;
            for (float s : scales) {
                minScale = Math.min(minScale, s);
                maxScale = Math.max(maxScale, s);
                sumScale += s;
            }
            EffectApproximatorMetrics metrics = EffectApproximatorMetrics.newBuilder()
                    .setDirections(n).setTrainDirections(xt.length).setHeldOutDirections(held)
                    .setLambda(lambda)
                    .setHeldOutR2(held > 0 ? Ridge.r2(hTruth, hPred, trainMeans) : Double.NaN)
                    .setHeldOutCosine(held > 0 ? Ridge.meanCosine(hTruth, hPred) : Double.NaN)
                    .setHeldOutCosineBiasOnly(held > 0 ? Ridge.meanCosine(hTruth, hBias) : Double.NaN)
                    .setTrainR2(Ridge.r2(tTruth, tPred, trainMeans))
                    .setMeanScale(sumScale / n).setMinScale(minScale).setMaxScale(maxScale)
                    .setResidualNorm(residualNorm).setBaseLoss(baseLoss)
                    .setGeneratedSequences(sequences.get()).setGeneratedTokens(tokens.get())
                    .setWallSeconds((System.nanoTime() - start) / 1e9)
                    .setCalibrationSeconds(calibrationNanos.get() / 1e9)
                    .setGenerationSeconds(generationNanos.get() / 1e9)
                    .setFitSeconds(fitSeconds)
                    .build();
            Instant now = Instant.now();
            EffectApproximatorInfo info = EffectApproximatorInfo.newBuilder().setId(p.id()).setModelId(p.info().getModelId())
                    .setSaeId(p.sae().getId()).setHook(p.sae().getHook()).setDModel(d).setDSae(m).setMetrics(metrics)
                    .setRequest(p.request()).setCreatedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                    .build();
            float[] xs = new float[n * d], ys = new float[n * m];
            for (int i = 0; i < n; i++) {
                System.arraycopy(x[i], 0, xs, i * d, d);
                System.arraycopy(y[i], 0, ys, i * m, m);
            }
            ctx.progress(0.98, "saving");
            registry.save(info, new ApproximatorRegistry.Weights(d, m, fit.w(), fit.b()),
                    new ApproximatorRegistry.TrainingData(xs, ys, scales, n), p.request().getOverwrite());
            ctx.update(1.0, "done", Map.of("held_out_r2", metrics.getHeldOutR2(), "held_out_cosine", metrics.getHeldOutCosine(),
                    "directions", (double) n, "skipped_directions", (double) skipped.get(),
                    "resumed_directions", (double) earlier.size()));
            return info;
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> T await(Future<T> f, OperationContext ctx) throws Exception {
        while (true) {
            ctx.checkCancelled();
            try {
                return f.get(200, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // poll the cancellation flag again
            } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause() instanceof Exception ex ? ex : e;
            }
        }
    }

    static long seedOf(long seed, int direction, int prompt, int sample) {
        long h = seed * 0x9E3779B97F4A7C15L + direction;
        h = h * 31 + prompt;
        h = h * 1_000_003L + sample;
        return h & Long.MAX_VALUE;
    }

    private GenerateRequest generate(Plan p, int[] prompt, long seed, float[] v, double scale, String hook) {
        GenerateRequest.Builder b = GenerateRequest.newBuilder()
                .setPrompt(ModelClient.tokens(prompt))
                .setSampling(SamplingParams.newBuilder().setTemperature(p.temperature()).setTopK(p.topK()).setTopP(p.topP())
                        .setSeed(seed).setMaxTokens(p.sequenceLength() - prompt.length).setIgnoreEos(true));
        if (v != null && scale != 0) b.addInterventions(intervention(v, scale, hook));
        return b.build();
    }

    static Intervention intervention(float[] v, double scale, String hook) {
        return Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(v, v.length)).setScale(scale).setPositions(PositionPolicy.ALL).build();
    }

    static int[] withBos(int[] ids, int bos) {
        if (bos < 0) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    static double meanRowNorm(List<ModelClient.Captured> caps, int d) {
        double s = 0;
        int n = 0;
        for (ModelClient.Captured c : caps) {
            int rows = c.rows().length / d;
            for (int r = 0; r < rows; r++) {
                s += Vec.rowNorm(c.rows(), r, d);
                n++;
            }
        }
        return n == 0 ? 0 : s / n;
    }

    /** Mean next-token loss (nats/token) over the chunks, optionally steered with scale * v at all positions. */
    double loss(List<int[]> chunks, float[] v, double scale, String hook) {
        int bos = model.info().getBosTokenId();
        double total = 0;
        int count = 0;
        for (int[] c : chunks) {
            ScoreRequest.Builder b = ScoreRequest.newBuilder()
                    .setPrompt(ModelClient.tokens(bos >= 0 ? new int[]{bos} : new int[0]))
                    .setContinuationTokens(TokenIds.newBuilder().addAllIds(java.util.Arrays.stream(c).boxed().toList()));
            if (v != null && scale != 0) b.addInterventions(intervention(v, scale, hook));
            ScoreResponse r = model.score(b.build());
            total -= r.getTotalLogprob();
            count += r.getLogprobsCount();
        }
        return total / Math.max(1, count);
    }

    /**
     * The scale at which the loss reaches base + rise: doubling from r/2 (r = residual norm) until the loss passes
     * the target (or halving while it already does), two bisection steps, then linear interpolation between the
     * bracketing scales (SAE-TS's {@code get_scale} steps a fixed grid and interpolates the same way).
     */
    double calibrate(float[] v, List<int[]> chunks, double base, double rise, double residualNorm, String hook) {
        double target = base + rise;
        double lo = 0, fLo = base - target;
        double hi = Math.max(residualNorm, 1e-3) / 2;
        double fHi = loss(chunks, v, hi, hook) - target;
        int guard = 0;
        if (fHi < 0) {
            while (fHi < 0 && guard++ < 10) {
                lo = hi;
                fLo = fHi;
                hi *= 2;
                fHi = loss(chunks, v, hi, hook) - target;
            }
            if (fHi < 0) return hi; // never reached the target: use the largest scale tried
        } else {
            while (guard++ < 6) {
                double mid = hi / 2;
                double fMid = loss(chunks, v, mid, hook) - target;
                if (fMid < 0) {
                    lo = mid;
                    fLo = fMid;
                    break;
                }
                hi = mid;
                fHi = fMid;
            }
        }
        for (int step = 0; step < 2; step++) {
            double mid = (lo + hi) / 2;
            double fMid = loss(chunks, v, mid, hook) - target;
            if (fMid < 0) {
                lo = mid;
                fLo = fMid;
            } else {
                hi = mid;
                fHi = fMid;
            }
        }
        if (fHi == fLo) return hi;
        return lo + (hi - lo) * (-fLo) / (fHi - fLo);
    }

    static float[] meanColumns(float[][] y, int m) {
        double[] acc = new double[m];
        for (float[] r : y) for (int j = 0; j < m; j++) acc[j] += r[j];
        float[] out = new float[m];
        for (int j = 0; j < m; j++) out[j] = (float) (acc[j] / Math.max(1, y.length));
        return out;
    }
}
