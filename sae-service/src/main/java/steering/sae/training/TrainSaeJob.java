package steering.sae.training;

import steering.common.grpc.Errors;
import steering.common.ops.OperationContext;
import steering.sae.core.Architecture;
import steering.sae.core.Normalization;
import steering.sae.core.Sae;
import steering.sae.core.SaeConfig;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.TokenWindows;
import steering.sae.corpus.TokenWindows.Window;
import steering.common.client.ModelClient;
import steering.sae.stats.FeatureStatsComputer;
import steering.sae.stats.FeatureStatsData;
import steering.sae.store.SaeRecord;
import steering.sae.store.SaeStore;
import steering.v1.ModelInfo;
import steering.v1.SaeArchitecture;
import steering.v1.SaeSourceFormat;
import steering.v1.TrainSaeRequest;
import steering.v1.TrainSaeResult;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.logging.Logger;

/**
 * TrainSae: corpus -> token windows -> activations (model-service CaptureActivations) -> SAE (DJL autograd) ->
 * held-out variance explained and L0 -> feature statistics and top contexts over all captured tokens -> spliced
 * next-token loss (model-service Score) -> one atomic write of the SAE, its sidecar and its statistics.
 * {@link #plan} validates a request up front (INVALID_ARGUMENT naming the field); {@link #run} does the work and
 * checks for cancellation between and inside the steps, so a cancelled or failed job writes nothing.
 */
public final class TrainSaeJob {
    private static final Logger LOG = Logger.getLogger(TrainSaeJob.class.getName());
    static final int WINDOWS_PER_CALL = 8;
    static final int MIN_WINDOW_TOKENS = 4;

    /** A validated request with every default filled in. */
    public record Plan(String saeId, String hook, Architecture architecture, int dSae, int k, double l1, double learningRate,
                       int batchSize, int epochs, long steps, int contextSize, long maxTokens, double evalFraction,
                       int splicedWindows, int topContexts, long seed, boolean overwrite, boolean prependBos,
                       double maxNormRatio, ModelInfo model, TrainSaeRequest request) {}

    private final SaeStore store;
    private final ModelClient model;
    private final CorpusReader corpus;
    private final long checkpointSteps;

    public TrainSaeJob(SaeStore store, ModelClient model, CorpusReader corpus) {
        this(store, model, corpus, DEFAULT_CHECKPOINT_STEPS);
    }

    /** @param checkpointSteps training saves its state every this many steps (when the operation has a work directory) */
    public TrainSaeJob(SaeStore store, ModelClient model, CorpusReader corpus, long checkpointSteps) {
        this.store = store;
        this.model = model;
        this.corpus = corpus;
        this.checkpointSteps = checkpointSteps;
    }

    public static final long DEFAULT_CHECKPOINT_STEPS = 500;

    public Plan plan(TrainSaeRequest r) {
        ModelInfo info = model.info();
        int dModel = info.getDModel();
        String hook = r.getHook().getName();
        if (hook.isEmpty()) throw Errors.invalid("hook.name", "a hook point is required, e.g. blocks." + (info.getNLayers() / 2) + ".hook_resid_post");
        model.checkHook(hook, "hook.name");
        corpus.validate(r.getCorpusList(), "corpus");
        Architecture arch = switch (r.getArchitecture()) {
            case SAE_ARCHITECTURE_UNSPECIFIED, SAE_ARCHITECTURE_TOPK -> Architecture.TOPK;
            case SAE_ARCHITECTURE_STANDARD -> Architecture.STANDARD;
            default -> throw Errors.invalid("architecture", r.getArchitecture() + " cannot be trained here; use "
                    + SaeArchitecture.SAE_ARCHITECTURE_TOPK + " or " + SaeArchitecture.SAE_ARCHITECTURE_STANDARD + " (ReLU + L1)");
        };
        if (r.getExpansionFactor() < 0 || r.getExpansionFactor() > 256) {
            throw Errors.invalid("expansion_factor", r.getExpansionFactor() + " is outside [0, 256] (0 = default 8)");
        }
        int dSae = r.getDSae() > 0 ? r.getDSae() : (r.getExpansionFactor() > 0 ? r.getExpansionFactor() : 8) * dModel;
        long maxSae = Math.max(1, (1L << 28) / dModel); // weights + Adam state stay below ~6 GB
        if (r.getDSae() < 0 || dSae > maxSae) {
            // name the value sent: a negative one used to be reported as the default it fell back to
            throw Errors.invalid("d_sae", (r.getDSae() != 0 ? r.getDSae() : dSae) + " is outside [1, " + maxSae + "] for d_model " + dModel);
        }
        int k = r.getK() == 0 ? Math.min(32, dSae) : r.getK();
        if (arch == Architecture.TOPK && (k < 1 || k > dSae)) throw Errors.invalid("k", k + " is outside [1, " + dSae + "] (d_sae)");
        double l1 = r.hasL1Coefficient() ? r.getL1Coefficient() : 0.01;
        if (!Double.isFinite(l1) || l1 < 0 || l1 > 1000) throw Errors.invalid("l1_coefficient", l1 + " is outside [0, 1000]");
        double lr = r.hasLearningRate() ? r.getLearningRate() : 2e-4 / Math.sqrt(dSae / 16384.0);
        if (!Double.isFinite(lr) || lr <= 0 || lr > 1) throw Errors.invalid("learning_rate", lr + " is outside (0, 1]");
        int batch = r.getBatchSize() == 0 ? 1024 : r.getBatchSize();
        if (batch < 8 || batch > 65536) throw Errors.invalid("batch_size", batch + " is outside [8, 65536]");
        if (r.getEpochs() < 0 || r.getEpochs() > 1000) throw Errors.invalid("epochs", r.getEpochs() + " is outside [0, 1000] (0 = default 2)");
        if (r.getSteps() < 0 || r.getSteps() > 10_000_000) throw Errors.invalid("steps", r.getSteps() + " is outside [0, 10000000]");
        int maxContext = Math.min(info.getMaxRequestTokens() > 0 ? info.getMaxRequestTokens() : info.getContextLength(), 4096);
        int context = r.getContextSize() == 0 ? Math.min(128, maxContext) : r.getContextSize();
        if (context < 8 || context > maxContext) throw Errors.invalid("context_size", context + " is outside [8, " + maxContext + "]");
        long maxTokens = r.getMaxTokens() == 0 ? 200_000 : r.getMaxTokens();
        long memCap = (Integer.MAX_VALUE - 8L) / dModel;
        if (maxTokens < 64 || maxTokens > memCap) throw Errors.invalid("max_tokens", maxTokens + " is outside [64, " + memCap + "]");
        double evalFraction = r.hasEvalFraction() ? r.getEvalFraction() : 0.05;
        if (!(evalFraction > 0 && evalFraction <= 0.5)) throw Errors.invalid("eval_fraction", evalFraction + " is outside (0, 0.5]");
        int spliced = r.hasSplicedLossWindows() ? r.getSplicedLossWindows() : 16;
        if (spliced < 0 || spliced > 1000) throw Errors.invalid("spliced_loss_windows", spliced + " is outside [0, 1000]");
        int top = r.getTopContexts() == 0 ? 10 : r.getTopContexts();
        if (top < 0 || top > 100) throw Errors.invalid("top_contexts", top + " is outside [0, 100]");
        double maxNormRatio = r.hasMaxNormRatio() ? r.getMaxNormRatio() : 10.0;
        if (!Double.isFinite(maxNormRatio) || (maxNormRatio != 0 && maxNormRatio < 2) || maxNormRatio > 1e6) {
            throw Errors.invalid("max_norm_ratio", maxNormRatio + " is outside [2, 1e6] (or 0 to keep every token)");
        }
        String id = r.getSaeId().isEmpty() ? defaultId(info, hook, arch, dSae) : SaeStore.checkId(r.getSaeId(), "sae_id");
        if (!r.getOverwrite() && store.exists(id)) {
            throw io.grpc.Status.ALREADY_EXISTS.withDescription("sae_id: SAE '" + id + "' already exists; set overwrite to replace it").asRuntimeException();
        }
        return new Plan(id, hook, arch, dSae, k, l1, lr, batch, r.getEpochs() == 0 ? 2 : r.getEpochs(), r.getSteps(), context,
                maxTokens, evalFraction, spliced, top, r.hasSeed() ? r.getSeed() : 0L, r.getOverwrite(),
                !r.hasPrependBos() || r.getPrependBos(), maxNormRatio, info, r);
    }

    static String defaultId(ModelInfo info, String hook, Architecture arch, int dSae) {
        String model = info.getModelId().replaceAll("[^A-Za-z0-9._-]", "_");
        String time = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(Instant.now());
        String id = model + "-" + hook.replace("blocks.", "L").replace(".hook_", "-") + "-" + arch.saeLensName() + "-" + dSae + "-" + time;
        return id.length() > 128 ? id.substring(id.length() - 128).replaceFirst("^[^A-Za-z0-9]+", "") : id;
    }

    public TrainSaeResult run(Plan p, OperationContext ctx) throws Exception {
        long wallStart = System.nanoTime();
        ctx.progress(0.0, "reading the corpus");
        List<CorpusReader.Document> docs = corpus.read(p.request().getCorpusList(), model, ctx::isCancelled);
        ctx.progress(0.01, "tokenizing " + docs.size() + " documents");
        Map<Integer, String> pieces = new HashMap<>();
        List<Window> windows = TokenWindows.build(docs, model, p.contextSize(), p.prependBos(), MIN_WINDOW_TOKENS,
                p.maxTokens(), pieces, ctx::isCancelled);
        if (windows.size() < 2) throw Errors.invalid("corpus", "the corpus gives " + windows.size() + " windows of at least "
                + MIN_WINDOW_TOKENS + " tokens; at least 2 are needed (one to train, one to evaluate)");
        String bosPiece = "<bos>";
        if (windows.get(0).hasBos()) bosPiece = model.detokenize(new int[]{windows.get(0).ids()[0]});

        // --- capture --------------------------------------------------------------------------------------------
        long captureStart = System.nanoTime();
        ActivationSet acts = ActivationCapture.capture(model, windows, p.hook(), WINDOWS_PER_CALL, ctx::isCancelled,
                (done, total, tokens) -> ctx.update(0.03 + 0.32 * done / total, "capturing activations: " + done + "/" + total + " windows",
                        Map.of("captured_tokens", (double) tokens)));
        double captureSecs = (System.nanoTime() - captureStart) / 1e9;
        double captureTps = acts.rows() / captureSecs;
        LOG.info(String.format("captured %d tokens at %s in %.1f s (%.0f tokens/s)", acts.rows(), p.hook(), captureSecs, captureTps));

        // --- massive-activation tokens: treated like BOS ---------------------------------------------------------
        boolean[] outlier = outliers(acts, p.maxNormRatio());
        int outliers = 0;
        for (boolean o : outlier) if (o) outliers++;
        double normCut = p.maxNormRatio() > 0 ? p.maxNormRatio() * medianNorm(acts) : Double.POSITIVE_INFINITY;
        if (outliers > 0) LOG.info(String.format("%d of %d tokens have an activation norm above %.1f (%.0f x the median): left out", outliers, acts.rows(), normCut, p.maxNormRatio()));

        // --- split ----------------------------------------------------------------------------------------------
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < windows.size(); i++) order.add(i);
        Collections.shuffle(order, new Random(p.seed()));
        int nEval = Math.max(1, (int) Math.round(windows.size() * p.evalFraction()));
        List<Integer> evalW = new ArrayList<>(order.subList(0, nEval));
        List<Integer> trainW = new ArrayList<>(order.subList(nEval, order.size()));
        Collections.sort(evalW);
        Collections.sort(trainW);
        float[] train = gather(acts, trainW, outlier);
        float[] eval = gather(acts, evalW, outlier);
        float[] evalAll = gather(acts, evalW, null);
        int d = acts.d();
        int trainRows = train.length / d;
        int evalRows = eval.length / d;

        // --- train ----------------------------------------------------------------------------------------------
        int batch = Math.min(p.batchSize(), trainRows);
        long steps = p.steps() > 0 ? p.steps() : Math.max(1, (long) Math.ceil((double) trainRows * p.epochs() / batch));
        long deadTokens = Math.max(10L * batch, 200L * p.dSae() / Math.max(1, p.k()));
        deadTokens = Math.min(deadTokens, Math.max(batch, steps * batch / 4));
        SaeTrainer.Params tp = new SaeTrainer.Params(p.architecture(), p.dSae(), p.k(), p.l1(), p.learningRate(), batch,
                steps, p.seed(), deadTokens, 1.0 / 32);
        ctx.progress(0.35, "training " + steps + " steps of " + batch + " tokens");
        // a restarted operation finds the state of its last checkpoint in its work directory and continues there
        TrainingCheckpoint checkpoint = ctx.workDirectory().map(dir -> new TrainingCheckpoint(dir, checkpointSteps)).orElse(null);
        SaeTrainer.Result trained = SaeTrainer.train(train, trainRows, d, tp, (step, total, fvu, l0, dead, tps) ->
                ctx.update(0.35 + 0.5 * step / total, "training: step " + step + "/" + total,
                        Map.of("step", (double) step, "fvu", fvu, "l0", l0, "dead_fraction", dead, "train_tokens_per_second", tps)),
                ctx::isCancelled, checkpoint);
        ctx.checkCancelled();

        SaeConfig cfg = new SaeConfig(p.architecture(), d, p.dSae(), p.architecture() == Architecture.TOPK ? p.k() : 0, true,
                Normalization.NONE, false, p.model().getModelId(), p.hook(), windows.get(0).hasBos(), p.contextSize(),
                corpusDescription(p));
        Map<String, Double> metrics = new LinkedHashMap<>();
        FeatureStatsData stats;
        String spliceMode = null;
        try (Sae sae = new Sae(cfg, trained.weights())) {
            // --- held-out reconstruction ------------------------------------------------------------------------
            ctx.progress(0.86, "evaluating on " + evalRows + " held-out tokens");
            double[] ev = reconstructionFigures(sae, eval, evalRows, d);
            metrics.put("variance_explained", ev[0]);
            metrics.put("mse", ev[1]);
            metrics.put("l0", ev[2]);
            metrics.put("variance_explained_all_tokens", reconstructionFigures(sae, evalAll, evalAll.length / d, d)[0]);
            metrics.put("outlier_tokens", (double) outliers);

            // --- statistics over every captured token -----------------------------------------------------------
            stats = FeatureStatsComputer.compute(sae, acts, p.topContexts(), pieces, bosPiece, model::detokenize, corpusDescription(p),
                    ctx::isCancelled, (done, total) -> ctx.progress(0.87 + 0.05 * done / total, "feature statistics: " + done + "/" + total + " tokens"));
            metrics.put("dead_fraction", stats.deadFraction());

            // --- spliced next-token loss ------------------------------------------------------------------------
            if (p.splicedWindows() > 0) {
                List<Integer> sw = evalW.subList(0, Math.min(p.splicedWindows(), evalW.size()));
                SplicedLoss.Result sl = SplicedLoss.evaluate(model, sae, p.hook(), acts, outlier, sw, 4, p.seed(), ctx::isCancelled,
                        (done, total) -> ctx.progress(0.92 + 0.07 * done / total, "spliced loss: " + done + "/" + total + " windows"));
                metrics.put("clean_loss", sl.cleanLoss());
                metrics.put("spliced_loss", sl.splicedLoss());
                metrics.put("loss_increase", sl.increase());
                metrics.put("loss_increase_stderr", sl.increaseStderr());
                metrics.put("mean_ablation_loss", sl.meanAblationLoss());
                metrics.put("spliced_loss_tokens", (double) sl.tokens());
                spliceMode = sl.mode();
            }
        }
        metrics.put("train_tokens", (double) trained.tokens());
        if (trained.resumedFromStep() > 0) metrics.put("resumed_from_step", (double) trained.resumedFromStep());
        metrics.put("eval_tokens", (double) evalRows);
        metrics.put("capture_tokens_per_second", captureTps);
        metrics.put("train_tokens_per_second", trained.tokensPerSecond());
        metrics.put("wall_seconds", (System.nanoTime() - wallStart) / 1e9);

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("method", p.architecture() == Architecture.TOPK ? "TopK SAE (Gao et al. 2024) with AuxK" : "ReLU SAE with L1 penalty");
        meta.put("trained_by", "sae-service TrainSae (DJL autograd, Adam)");
        meta.put("model_id", p.model().getModelId());
        meta.put("model_weights", p.model().getSourceFormat() + " " + p.model().getWeightsType());
        meta.put("hook", p.hook());
        meta.put("corpus", corpusDescription(p));
        meta.put("documents", Integer.toString(docs.size()));
        meta.put("windows", windows.size() + " (train " + trainW.size() + ", held out " + evalW.size() + ")");
        meta.put("captured_tokens", Integer.toString(acts.rows()));
        meta.put("context_size", Integer.toString(p.contextSize()));
        meta.put("prepend_bos", Boolean.toString(windows.get(0).hasBos()));
        meta.put("d_sae", Integer.toString(p.dSae()));
        if (p.architecture() == Architecture.TOPK) meta.put("k", Integer.toString(p.k()));
        else meta.put("l1_coefficient", Double.toString(p.l1()));
        meta.put("learning_rate", Double.toString(p.learningRate()));
        meta.put("batch_size", Integer.toString(batch));
        meta.put("steps", Long.toString(steps));
        meta.put("dead_tokens_threshold", Long.toString(deadTokens));
        meta.put("input_scale", Float.toString(trained.inputScale()));
        meta.put("seed", Long.toString(p.seed()));
        meta.put("max_norm_ratio", Double.toString(p.maxNormRatio()));
        if (p.maxNormRatio() > 0) meta.put("outlier_norm_threshold", String.format("%.2f", normCut));
        meta.put("outlier_tokens", outliers + " (norm above the threshold: not trained on, not in the figures, not spliced)");
        meta.put("decoder_rows", "unit norm");
        if (spliceMode != null) {
            meta.put("spliced_loss_mode", spliceMode + " (" + (spliceMode.equals("full") ? "every non-BOS position" : "4 sampled positions per window") + ")");
        }
        meta.put("dead_fraction_over", stats.tokens() + " tokens (all captured)");
        meta.put("variance_explained_over", evalRows + " held-out tokens");

        ctx.checkCancelled();
        ctx.progress(0.99, "saving " + p.saeId());
        SaeRecord record = new SaeRecord(p.saeId(), cfg, SaeSourceFormat.SAE_SOURCE_FORMAT_SAELENS, "trained", Instant.now(), meta, metrics);
        store.save(record, trained.weights(), stats, p.overwrite());
        ctx.update(1.0, "saved " + p.saeId(), metrics);
        return TrainSaeResult.newBuilder().setSae(record.toInfo(true)).setMetrics(SaeRecord.metricsProto(metrics)).build();
    }

    static String corpusDescription(Plan p) {
        List<String> parts = new ArrayList<>();
        p.request().getCorpusList().forEach(s -> parts.add(CorpusReader.describe(s)));
        return String.join(" + ", parts);
    }

    /** The rows of some windows, without the rows marked in {@code skip} (may be null). */
    static float[] gather(ActivationSet acts, List<Integer> windows, boolean[] skip) {
        int d = acts.d();
        int rows = 0;
        for (int w : windows) {
            for (int r = acts.rowStart()[w]; r < acts.rowStart()[w + 1]; r++) if (skip == null || !skip[r]) rows++;
        }
        float[] out = new float[rows * d];
        int at = 0;
        for (int w : windows) {
            for (int r = acts.rowStart()[w]; r < acts.rowStart()[w + 1]; r++) {
                if (skip != null && skip[r]) continue;
                System.arraycopy(acts.data(), r * d, out, at, d);
                at += d;
            }
        }
        return out;
    }

    static double medianNorm(ActivationSet acts) {
        int d = acts.d();
        double[] norms = new double[acts.rows()];
        for (int r = 0; r < acts.rows(); r++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double) acts.data()[r * d + i] * acts.data()[r * d + i];
            norms[r] = Math.sqrt(s);
        }
        java.util.Arrays.sort(norms);
        return norms.length == 0 ? 0 : norms[norms.length / 2];
    }

    /** Rows whose norm exceeds ratio x the median norm (none when ratio is 0). */
    static boolean[] outliers(ActivationSet acts, double ratio) {
        boolean[] out = new boolean[acts.rows()];
        if (ratio <= 0) return out;
        int d = acts.d();
        double cut = ratio * medianNorm(acts);
        for (int r = 0; r < acts.rows(); r++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double) acts.data()[r * d + i] * acts.data()[r * d + i];
            out[r] = Math.sqrt(s) > cut;
        }
        return out;
    }

    /** {variance explained, mean squared error per row, mean L0} of x's reconstruction. */
    public static double[] reconstructionFigures(Sae sae, float[] x, int rows, int d) {
        double[] mean = new double[d];
        for (int r = 0; r < rows; r++) for (int i = 0; i < d; i++) mean[i] += x[r * d + i];
        for (int i = 0; i < d; i++) mean[i] /= rows;
        double err = 0, var = 0, l0 = 0;
        int chunk = 1024;
        for (int start = 0; start < rows; start += chunk) {
            int n = Math.min(chunk, rows - start);
            float[] part = new float[n * d];
            System.arraycopy(x, start * d, part, 0, n * d);
            Sae.Reconstruction rec = sae.reconstruct(part, n);
            for (int r = 0; r < n; r++) {
                for (int i = 0; i < d; i++) {
                    double e = part[r * d + i] - rec.reconstruction()[r * d + i];
                    double c = part[r * d + i] - mean[i];
                    err += e * e;
                    var += c * c;
                }
            }
            for (float v : rec.features()) if (v != 0) l0++;
        }
        return new double[]{var > 0 ? 1 - err / var : Double.NaN, err / rows, l0 / rows};
    }
}
