package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.ops.OperationContext;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.vector.methods.Adam;
import steering.vector.methods.Caa;
import steering.vector.methods.PreferenceLoss;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The trained recipe: a steering vector optimised from zero with Adam on a preference objective (BiPO, or the
 * RePS-style reference-free one; {@link PreferenceLoss}), every gradient from model-service's ScoreGradients.
 * {@link #prepare} validates and tokenizes every pair once (errors at once, naming the field); {@link #train}
 * runs the steps, reports the loss of each, evaluates a held-out part of the pairs for early stopping and keeps
 * the vector with the best held-out loss.
 */
public final class PreferenceTrainer {
    static final int MAX_PAIRS = 2000;
    /** ScoreGradients takes at most 64 examples and 4,096 tokens a call; a step is cut into calls within both. */
    static final int CALL_EXAMPLES = 32, CALL_TOKENS = 4096;

    private final ModelClient model;
    private final Datasets datasets;

    public PreferenceTrainer(ModelClient model, Datasets datasets) {
        this.model = model;
        this.datasets = datasets;
    }

    /** A pair as token ids: the prompt (with BOS) and each completion (without). */
    record Pair(int[] prompt, int[] positive, int[] negative) {}

    /** A validated recipe with its defaults applied. */
    public record Plan(TrainedRecipe recipe, String hook, int d, TrainingObjective objective, List<Pair> train,
                       List<Pair> heldOut, double beta, int steps, double learningRate, int batchSize, double maxNorm,
                       long seed, int evalEvery, int patience, double[] factors, List<String> sources) {}

    public Plan prepare(TrainedRecipe r, ModelInfo info) {
        String hook = model.checkHook(r.getHook(), "trained.hook.name");
        TrainingObjective objective = switch (r.getObjective()) {
            case TRAINING_OBJECTIVE_UNSPECIFIED, TRAINING_OBJECTIVE_BIPO -> TrainingObjective.TRAINING_OBJECTIVE_BIPO;
            case TRAINING_OBJECTIVE_REPS_NEGATED_FACTOR -> TrainingObjective.TRAINING_OBJECTIVE_REPS_NEGATED_FACTOR;
            default -> throw Errors.invalid("trained.objective", "unknown objective; allowed: TRAINING_OBJECTIVE_BIPO, "
                    + "TRAINING_OBJECTIVE_REPS_NEGATED_FACTOR");
        };
        switch (r.getPositions()) {
            case POSITION_POLICY_UNSPECIFIED, ALL, PROMPT_ONLY, GENERATED_ONLY -> { }
            default -> throw Errors.invalid("trained.positions", r.getPositions() + " is not trainable; allowed: ALL, PROMPT_ONLY, GENERATED_ONLY");
        }
        double beta = r.hasBeta() ? r.getBeta() : 0.1;
        range(beta, 1e-6, 100, "trained.beta");
        int steps = r.hasSteps() ? r.getSteps() : 60;
        if (steps < 1 || steps > 2000) throw Errors.invalid("trained.steps", steps + " is outside [1, 2000]");
        double lr = r.hasLearningRate() ? r.getLearningRate() : 0.05;
        if (!(lr > 0 && lr <= 10)) throw Errors.invalid("trained.learning_rate", lr + " is outside (0, 10]");
        int batch = r.hasBatchSize() ? r.getBatchSize() : 4;
        if (batch < 1 || batch > 16) throw Errors.invalid("trained.batch_size", batch + " is outside [1, 16]");
        if (!(r.getMaxNorm() >= 0 && r.getMaxNorm() <= 1e6)) throw Errors.invalid("trained.max_norm", r.getMaxNorm() + " is outside [0, 1e6] (0 = unbounded)");
        double heldFraction = r.hasHeldOutFraction() ? r.getHeldOutFraction() : 0.25;
        if (!(heldFraction >= 0 && heldFraction <= 0.9)) throw Errors.invalid("trained.held_out_fraction", heldFraction + " is outside [0, 0.9]");
        int evalEvery = r.hasEvalEvery() ? r.getEvalEvery() : 10;
        if (evalEvery < 1 || evalEvery > 2000) throw Errors.invalid("trained.eval_every", evalEvery + " is outside [1, 2000]");
        int patience = r.hasPatience() ? r.getPatience() : 3;
        if (patience < 1 || patience > 1000) throw Errors.invalid("trained.patience", patience + " is outside [1, 1000]");
        if (r.getFactorsCount() > 16) throw Errors.invalid("trained.factors", r.getFactorsCount() + " factors is outside [0, 16]");
        double[] factors = r.getFactorsCount() == 0 ? new double[]{1.0} : r.getFactorsList().stream().mapToDouble(Double::doubleValue).toArray();
        for (int i = 0; i < factors.length; i++) range(factors[i], 1e-6, 1e3, "trained.factors[" + i + "]");
        long seed = r.hasSeed() ? r.getSeed() : 1;

        List<String> sources = new ArrayList<>();
        List<Pair> pairs = pairs(r, sources);
        if (pairs.size() < 2) throw Errors.invalid("trained.pairs", "at least 2 preference pairs are required (pairs, sentences or dataset); got " + pairs.size());
        List<Pair> shuffled = new ArrayList<>(pairs);
        Collections.shuffle(shuffled, new Random(seed));
        int held = heldFraction == 0 ? 0 : Math.max(1, Math.min(pairs.size() - 1, (int) Math.round(heldFraction * pairs.size())));
        return new Plan(r, hook, info.getDModel(), objective, List.copyOf(shuffled.subList(held, shuffled.size())),
                List.copyOf(shuffled.subList(0, held)), beta, steps, lr, batch, r.getMaxNorm(), seed, evalEvery, patience,
                factors, sources);
    }

    private static void range(double x, double lo, double hi, String field) {
        if (!(x >= lo && x <= hi)) throw Errors.invalid(field, x + " is outside [" + lo + ", " + hi + "]");
    }

    /** Inline pairs, then sentence pairs, then the dataset's; each tokenized here, once. */
    private List<Pair> pairs(TrainedRecipe r, List<String> sources) {
        List<Pair> out = new ArrayList<>();
        for (int i = 0; i < r.getPairsCount(); i++) {
            PreferencePair p = r.getPairs(i);
            out.add(pair(p.getPrompt(), p.getPositive(), p.getNegative(), "trained.pairs[" + i + "]"));
        }
        if (r.getPairsCount() > 0) sources.add("pairs:" + r.getPairsCount() + " inline");
        SentencePairs s = r.getSentences();
        int n = Math.min(s.getPositiveCount(), s.getNegativeCount());
        if (s.getPositiveCount() != s.getNegativeCount() && n > 0) {
            sources.add("sentences: the first " + n + " of " + s.getPositiveCount() + " positive and " + s.getNegativeCount() + " negative");
        }
        List<String> prompts = s.getPromptsCount() == 0 ? List.of("") : s.getPromptsList();
        for (int i = 0; i < n && out.size() <= MAX_PAIRS; i++) {
            out.add(pair(prompts.get(i % prompts.size()), s.getPositive(i), s.getNegative(i), "trained.sentences.positive[" + i + "]"));
        }
        if (n > 0) sources.add("sentences:" + n + " pairs over " + prompts.size() + " prompts");
        if (r.getMaxItems() < 0) throw Errors.invalid("trained.max_items", r.getMaxItems() + " is outside [0, " + Datasets.MAX_ITEMS + "] (0 = all)");
        if (!r.getDataset().isEmpty()) {
            String template = r.getPromptTemplate().isEmpty() ? Caa.BASE_TEMPLATE : r.getPromptTemplate();
            if (!template.contains("{question}") || !template.endsWith("{answer}")) {
                throw Errors.invalid("trained.prompt_template", "must contain {question} and end with {answer}, e.g. "
                        + Caa.BASE_TEMPLATE.replace("\n", "\\n"));
            }
            String head = template.substring(0, template.length() - "{answer}".length());
            // the space before {answer} goes with the completion, as the answer's first token carries it
            String gap = head.endsWith(" ") ? " " : "";
            String promptTemplate = gap.isEmpty() ? head : head.substring(0, head.length() - 1);
            List<AbItem> items = datasets.abItems(r.getDataset(), r.getMaxItems(), "trained.dataset");
            for (int i = 0; i < items.size() && out.size() <= MAX_PAIRS; i++) {
                AbItem it = items.get(i);
                out.add(pair(promptTemplate.replace("{question}", it.getQuestion()), gap + it.getAnswerMatchingBehavior().trim(),
                        gap + it.getAnswerNotMatchingBehavior().trim(), "trained.dataset item " + i));
            }
            sources.add("dataset:" + r.getDataset() + "[:" + items.size() + "] sha256=" + datasets.sha256(r.getDataset()));
        }
        if (out.size() > MAX_PAIRS) throw Errors.invalid("trained.pairs", "more than " + MAX_PAIRS + " preference pairs in all");
        return out;
    }

    private Pair pair(String prompt, String positive, String negative, String field) {
        if (positive.isEmpty()) throw Errors.invalid(field + (field.contains("sentences") ? "" : ".positive"), "the positive completion is empty");
        if (negative.isEmpty()) throw Errors.invalid(field.replace("positive", "negative") + (field.contains("sentences") ? "" : ".negative"),
                "the negative completion is empty");
        return new Pair(model.tokenize(prompt, true, field + ".prompt"), model.tokenize(positive, false, field + ".positive"),
                model.tokenize(negative, false, field + ".negative"));
    }

    // ------------------------------------------------------------------------------------------------------------

    /** One completion to score: pair, which side, multiplier. */
    private record Job(Pair pair, boolean positive, double multiplier) {
        int[] completion() {
            return positive ? pair.positive : pair.negative;
        }
    }

    public SteeringVector.Builder train(Plan p, OperationContext ctx) {
        long start = System.nanoTime();
        ctx.progress(0, "scoring " + (p.train().size() + p.heldOut().size()) + " pairs unsteered");
        double[] v = new double[p.d()];
        References ref = new References(p);
        boolean bipo = p.objective() == TrainingObjective.TRAINING_OBJECTIVE_BIPO;
        Adam adam = new Adam(p.d(), p.learningRate());
        Random rnd = new Random(p.seed());
        TrainingReport.Builder report = TrainingReport.newBuilder().setObjective(p.objective()).setBeta(p.beta())
                .setLearningRate(p.learningRate()).setBatchSize(p.batchSize()).setSeed(p.seed())
                .setTrainPairs(p.train().size()).setHeldOutPairs(p.heldOut().size());
        double[] best = v.clone();
        double bestLoss = Double.POSITIVE_INFINITY;
        int bestStep = 0;
        int sinceBest = 0;
        if (!p.heldOut().isEmpty()) {
            bestLoss = heldOutLoss(p, v, ref);
            report.addHeldOutSteps(0).addHeldOutLoss(bestLoss);
        }
        List<Pair> order = new ArrayList<>(p.train());
        int cursor = order.size();
        int step = 0;
        boolean stopped = false;
        while (step < p.steps() && !stopped) {
            ctx.checkCancelled();
            step++;
            List<Pair> batch = new ArrayList<>();
            for (int i = 0; i < Math.min(p.batchSize(), order.size()); i++) {
                if (cursor == order.size()) {
                    Collections.shuffle(order, rnd);
                    cursor = 0;
                }
                batch.add(order.get(cursor++));
            }
            List<Job> jobs = new ArrayList<>();
            for (Pair pair : batch) {
                if (bipo) {
                    double d = rnd.nextBoolean() ? 1 : -1;
                    jobs.add(new Job(pair, true, d));
                    jobs.add(new Job(pair, false, d));
                } else {
                    double a = p.factors()[rnd.nextInt(p.factors().length)];
                    for (double m : new double[]{a, -a}) {
                        jobs.add(new Job(pair, true, m));
                        jobs.add(new Job(pair, false, m));
                    }
                }
            }
            PreferenceLoss.Value value = loss(p, jobs, score(p, jobs, v), ref, bipo);
            adam.step(v, value.gradient());
            double norm = norm(v);
            if (p.maxNorm() > 0 && norm > p.maxNorm()) {
                for (int i = 0; i < v.length; i++) v[i] *= p.maxNorm() / norm;
                norm = p.maxNorm();
            }
            report.addLoss(value.loss());
            String message = String.format(Locale.ROOT, "step %d/%d: loss %.4f, |v| %.3f", step, p.steps(), value.loss(), norm);
            java.util.Map<String, Double> metrics = new java.util.LinkedHashMap<>();
            metrics.put("loss", value.loss());
            metrics.put("norm", norm);
            if (!p.heldOut().isEmpty() && (step % p.evalEvery() == 0 || step == p.steps())) {
                double held = heldOutLoss(p, v, ref);
                report.addHeldOutSteps(step).addHeldOutLoss(held);
                metrics.put("held_out_loss", held);
                message += String.format(Locale.ROOT, ", held-out %.4f", held);
                if (held < bestLoss) {
                    bestLoss = held;
                    best = v.clone();
                    bestStep = step;
                    sinceBest = 0;
                } else if (++sinceBest >= p.patience()) {
                    stopped = true;
                    message += " (early stop)";
                }
            }
            ctx.update((double) step / p.steps(), message, metrics);
        }
        if (p.heldOut().isEmpty()) {
            best = v;
            bestStep = step;
        }
        report.setStepsRun(step).setBestStep(bestStep).setEarlyStopped(stopped);
        heldOutFigures(p, best, ref, report);
        report.setWallSeconds((System.nanoTime() - start) / 1e9);
        float[] vector = new float[p.d()];
        for (int i = 0; i < vector.length; i++) vector[i] = (float) best[i];
        PositionPolicy positions = p.recipe().getPositions() == PositionPolicy.POSITION_POLICY_UNSPECIFIED
                ? PositionPolicy.ALL : p.recipe().getPositions();
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_TRAINED)
                .setHook(HookPoint.newBuilder().setName(p.hook()))
                .setVector(TensorCodec.ofFloats(vector, p.d()))
                .setPositions(positions)
                .setDefaultScale(1.0)
                .addAllSources(p.sources())
                .setTraining(report)
                .putMetadata("objective", p.objective().name())
                .putMetadata("pairs", Integer.toString(p.train().size() + p.heldOut().size()));
    }

    /** Unsteered total log-prob of every completion, scored once (multiplier 0). */
    private final class References {
        final java.util.Map<Pair, double[]> byPair = new java.util.IdentityHashMap<>();

        References(Plan p) {
            List<Job> jobs = new ArrayList<>();
            for (List<Pair> part : List.of(p.train(), p.heldOut())) {
                for (Pair pair : part) {
                    jobs.add(new Job(pair, true, 0));
                    jobs.add(new Job(pair, false, 0));
                }
            }
            List<ExampleGradients> scored = score(p, jobs, new double[p.d()]);
            for (int i = 0; i < jobs.size(); i += 2) {
                byPair.put(jobs.get(i).pair(), new double[]{scored.get(i).getTotalLogprob(), scored.get(i + 1).getTotalLogprob()});
            }
        }

        double of(Job j) {
            return byPair.get(j.pair())[j.positive() ? 0 : 1];
        }
    }

    /** The mean loss and gradient of the pairs behind {@code jobs} (2 jobs a pair for BiPO, 4 for RePS). */
    private static PreferenceLoss.Value loss(Plan p, List<Job> jobs, List<ExampleGradients> scored, References ref, boolean bipo) {
        int per = bipo ? 2 : 4;
        int pairs = jobs.size() / per;
        double loss = 0;
        double[] g = new double[p.d()];
        for (int k = 0; k < pairs; k++) {
            PreferenceLoss.Scored[] s = new PreferenceLoss.Scored[per];
            for (int j = 0; j < per; j++) {
                Job job = jobs.get(k * per + j);
                ExampleGradients e = scored.get(k * per + j);
                s[j] = new PreferenceLoss.Scored(e.getTotalLogprob(), TensorCodec.toFloats(e.getGradients(0)),
                        job.completion().length, ref.of(job));
            }
            PreferenceLoss.Value value = bipo
                    ? PreferenceLoss.bipo(s[0], s[1], (int) jobs.get(k * per).multiplier(), p.beta())
                    : PreferenceLoss.repsNegatedFactor(s[0], s[1], s[2], s[3]);
            loss += value.loss() / pairs;
            for (int i = 0; i < g.length; i++) g[i] += value.gradient()[i] / pairs;
        }
        return new PreferenceLoss.Value(loss, g);
    }

    /** The held-out loss, deterministic: BiPO at both directions, RePS at the first factor. */
    private double heldOutLoss(Plan p, double[] v, References ref) {
        boolean bipo = p.objective() == TrainingObjective.TRAINING_OBJECTIVE_BIPO;
        List<Job> jobs = new ArrayList<>();
        for (Pair pair : p.heldOut()) {
            if (bipo) {
                for (double d : new double[]{1, -1}) {
                    jobs.add(new Job(pair, true, d));
                    jobs.add(new Job(pair, false, d));
                }
            } else {
                for (double m : new double[]{p.factors()[0], -p.factors()[0]}) {
                    jobs.add(new Job(pair, true, m));
                    jobs.add(new Job(pair, false, m));
                }
            }
        }
        return loss(p, jobs, score(p, jobs, v), ref, bipo).loss();
    }

    /** Accuracy and positive gain of the kept vector on the held-out pairs (all pairs when none are held out). */
    private void heldOutFigures(Plan p, double[] v, References ref, TrainingReport.Builder report) {
        List<Pair> pairs = p.heldOut().isEmpty() ? p.train() : p.heldOut();
        List<Job> jobs = new ArrayList<>();
        for (Pair pair : pairs) {
            jobs.add(new Job(pair, true, 1));
            jobs.add(new Job(pair, false, 1));
        }
        List<ExampleGradients> scored = score(p, jobs, v);
        int right = 0;
        double gain = 0;
        for (int i = 0; i < jobs.size(); i += 2) {
            double pos = scored.get(i).getTotalLogprob() - ref.of(jobs.get(i));
            double neg = scored.get(i + 1).getTotalLogprob() - ref.of(jobs.get(i + 1));
            if (pos > neg) right++;
            gain += pos;
        }
        report.setHeldOutAccuracy((double) right / pairs.size()).setHeldOutPositiveGain(gain / pairs.size());
    }

    /** ScoreGradients over the jobs in calls of at most CALL_EXAMPLES examples and CALL_TOKENS tokens, in order. */
    private List<ExampleGradients> score(Plan p, List<Job> jobs, double[] v) {
        float[] vector = new float[v.length];
        for (int i = 0; i < v.length; i++) vector[i] = (float) v[i];
        Intervention trainable = Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(p.hook()))
                .setVector(TensorCodec.ofFloats(vector, vector.length)).setScale(1.0)
                .setPositions(p.recipe().getPositions() == PositionPolicy.POSITION_POLICY_UNSPECIFIED
                        ? PositionPolicy.ALL : p.recipe().getPositions())
                .build();
        List<ExampleGradients> out = new ArrayList<>(jobs.size());
        ScoreGradientsRequest.Builder call = null;
        int tokens = 0;
        for (Job j : jobs) {
            int len = j.pair().prompt().length + j.completion().length;
            if (call != null && (call.getExamplesCount() == CALL_EXAMPLES || tokens + len > CALL_TOKENS)) {
                out.addAll(model.scoreGradients(call.build()).getExamplesList());
                call = null;
            }
            if (call == null) {
                call = ScoreGradientsRequest.newBuilder().addInterventions(trainable).addTrainable(0);
                tokens = 0;
            }
            TokenIds.Builder completion = TokenIds.newBuilder();
            for (int id : j.completion()) completion.addIds(id);
            call.addExamples(GradientExample.newBuilder().setPrompt(ModelClient.tokens(j.pair().prompt()))
                    .setContinuationTokens(completion).setMultiplier(j.multiplier()));
            tokens += len;
        }
        if (call != null) out.addAll(model.scoreGradients(call.build()).getExamplesList());
        return out;
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }
}
