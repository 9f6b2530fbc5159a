package steering.gateway.eval;

import steering.common.steer.SamplingChecks;
import io.grpc.stub.StreamObserver;
import steering.common.grpc.Errors;
import steering.common.grpc.Pacer;
import steering.common.ops.OperationContext;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.mesh.MeshClients;
import steering.v1.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Runs an evaluation sweep: for every configuration and scale, N samples (generated concurrently, so model-service
 * batches them), behaviour from the judge, coherence from the unsteered model's log-probs of each sample.
 */
public final class Evaluator {
    private final MeshClients mesh;
    private final SteeringResolver resolver;
    private final Function<steering.v1.BehaviourJudge, BehaviourJudge> judges;
    private final Pacer pacer;

    /** bounds of an evaluation's lists: a sweep that large would hold model-service for hours */
    public static final int MAX_CONFIGS = 16, MAX_SCALES = 64, MAX_GENERATIONS = 8192;

    public Evaluator(MeshClients mesh, SteeringResolver resolver, Function<steering.v1.BehaviourJudge, BehaviourJudge> judges) {
        this(mesh, resolver, judges, new Pacer(8, java.time.Duration.ofMinutes(10)));
    }

    /** @param pacer paces the samples' generations within model-service's capacity (shared with other requests) */
    public Evaluator(MeshClients mesh, SteeringResolver resolver, Function<steering.v1.BehaviourJudge, BehaviourJudge> judges,
                     Pacer pacer) {
        this.mesh = mesh;
        this.resolver = resolver;
        this.judges = judges;
        this.pacer = pacer;
    }

    /**
     * Checks a request up front so that a bad one fails the Start call, not the operation later. The request returned
     * has its defaults filled in and every config's steering resolved (inline interventions at magnitude 1), which is
     * what {@link #run} sweeps.
     */
    public EvaluateRequest validate(EvaluateRequest r) {
        if (r.getConfigsCount() == 0) throw Errors.invalid("configs", "at least one configuration is required");
        if (r.getCriterion().isBlank()) throw Errors.invalid("criterion", "describe the behaviour to score, e.g. \"The text is about weddings.\"");
        int samples = r.getSamples() == 0 ? 4 : r.getSamples();
        if (samples < 1 || samples > 256) throw Errors.invalid("samples", samples + " is outside [1, 256]");
        if (r.getConfigsCount() > MAX_CONFIGS) throw Errors.invalid("configs", r.getConfigsCount() + " configurations is outside [1, " + MAX_CONFIGS + "]");
        long points = r.getConfigsList().stream().mapToLong(EvaluatedConfig::getScalesCount).sum();
        if (points * samples > MAX_GENERATIONS) {
            throw Errors.invalid("samples", points + " scales x " + samples + " samples = " + points * samples
                    + " generations is over the limit of " + MAX_GENERATIONS + " per evaluation");
        }
        EvaluateRequest.Builder checked = r.toBuilder();
        for (int c = 0; c < r.getConfigsCount(); c++) {
            EvaluatedConfig config = r.getConfigs(c);
            if (config.hasPrompting()) {
                Prompting.check(config, "configs[" + c + "]", r.hasPrompt() ? r.getPrompt() : null);
                continue;
            }
            if (config.getScalesCount() > MAX_SCALES) {
                throw Errors.invalid("configs[" + c + "].scales", config.getScalesCount() + " scales is outside [1, " + MAX_SCALES + "]");
            }
            for (int s = 0; s < config.getScalesCount(); s++) {
                double scale = config.getScales(s);
                if (!Double.isFinite(scale)) throw Errors.invalid("configs[" + c + "].scales[" + s + "]", scale + " is not finite");
            }
            if (config.getScalesCount() == 0) throw Errors.invalid("configs[" + c + "].scales", "at least one scale is required");
            if (config.getSteeringCount() == 0) throw Errors.invalid("configs[" + c + "].steering", "at least one vector is required");
            // resolved once, here: the sweep only sets the magnitude (SweptSteering)
            EvaluatedConfig resolved = SweptSteering.resolve(config, resolver, "configs[" + c + "].steering");
            // a swept scale is each kind's magnitude (ABLATE takes only 0 and 1): refused here, not mid-sweep
            for (int s = 0; s < config.getScalesCount(); s++) {
                SweptSteering.at(resolved, config.getScales(s), "configs[" + c + "].scales[" + s + "]");
            }
            checked.setConfigs(c, resolved);
        }
        // model-service's own ranges, checked now: a bad temperature is refused at Start, not in the operation's error
        if (r.hasSampling()) SamplingChecks.check(r.getSampling(), "sampling", 0);
        SamplingParams.Builder sampling = r.hasSampling() ? r.getSampling().toBuilder()
                : SamplingParams.newBuilder().setTemperature(1.0f).setTopP(0.3f).setSeed(0);
        if (sampling.getMaxTokens() == 0) sampling.setMaxTokens(32);
        return checked.setSamples(samples).setSampling(sampling)
                .setPrompt(r.hasPrompt() ? r.getPrompt() : Prompt.newBuilder().setText("I think").build()).build();
    }

    /** The judge the request asks for; INVALID_ARGUMENT (behaviour_judge) when this gateway cannot give it. */
    public BehaviourJudge judgeFor(EvaluateRequest r) {
        return judges.apply(r.getBehaviourJudge());
    }

    public EvaluateResult run(EvaluateRequest r, OperationContext op) throws java.io.IOException {
        long start = System.nanoTime();
        BehaviourJudge judge = judges.apply(r.getBehaviourJudge());
        EvaluateResult.Builder result = EvaluateResult.newBuilder().setCriterion(r.getCriterion()).setJudge(judge.name());
        int total = 0;
        for (EvaluatedConfig c : r.getConfigsList()) total += Math.max(1, c.getScalesCount());
        int done = 0;
        // a run resumed after a restart keeps the points it had finished (saved after each one)
        List<EvaluatedPoint> finished = checkpointed(op);
        if (!finished.isEmpty()) op.metric("resumed_points", finished.size());
        for (int c = 0; c < r.getConfigsCount(); c++) {
            EvaluatedConfig config = r.getConfigs(c);
            // a request checked by a gateway that did not yet resolve in validate (resumed after an upgrade)
            if (!config.hasPrompting() && !SweptSteering.isResolved(config)) {
                config = SweptSteering.resolve(config, resolver, "configs[" + c + "].steering");
            }
            String label = config.getLabel().isEmpty() ? "config " + c : config.getLabel();
            BestScale.Builder best = null;
            // a prompting baseline is one point at scale 0, generated after its own prompt
            List<Double> scales = config.hasPrompting() ? List.of(0.0) : config.getScalesList();
            Prompt generationPrompt = config.hasPrompting() ? Prompting.apply(r.getPrompt(), config.getPrompting()) : r.getPrompt();
            for (double scale : scales) {
                if (op.isCancelled()) throw new steering.common.ops.OperationCancelledException(op.id());
                EvaluatedPoint point = done < finished.size() ? finished.get(done)
                        : measure(r, judge, config, c, label, scale, generationPrompt);
                double behaviour = point.getBehaviour();
                double coherence = point.getCoherence();
                result.addPoints(point);
                op.checkpoint(EvaluateResult.newBuilder().addAllPoints(result.getPointsList()).build());
                if (best == null || point.getProduct() > best.getProduct()) {
                    best = BestScale.newBuilder().setLabel(label).setScale(scale).setBehaviour(behaviour)
                            .setCoherence(coherence).setProduct(point.getProduct());
                }
                done++;
                op.update((double) done / total, String.format("%s scale %.2f: behaviour %.3f coherence %.3f", label, scale, behaviour, coherence),
                        java.util.Map.of("behaviour", behaviour, "coherence", coherence, "product", behaviour * coherence));
            }
            result.addBest(best);
        }
        return result.setWallSeconds((System.nanoTime() - start) / 1e9).build();
    }

    /** One point of the sweep: the samples after {@code prompt}, judged, and scored after the request's prompt. */
    private EvaluatedPoint measure(EvaluateRequest r, BehaviourJudge judge, EvaluatedConfig config, int c, String label,
                                   double scale, Prompt prompt) {
        List<Intervention> ivs = SweptSteering.at(config, scale, "configs[" + c + "].scales");
        List<String> samples = generate(r, prompt, ivs);
        double[] behaviours = judge.score(samples, r.getCriterion());
        double[] coherences = coherence(r.getPrompt(), samples);
        double behaviour = mean(behaviours);
        double coherence = mean(coherences);
        return EvaluatedPoint.newBuilder().setLabel(label).setScale(scale).setBehaviour(behaviour)
                .setCoherence(coherence).setProduct(behaviour * coherence).addAllSamples(samples)
                .addAllSampleBehaviour(java.util.Arrays.stream(behaviours).boxed().toList())
                .addAllSampleCoherence(java.util.Arrays.stream(coherences).boxed().toList())
                .setAxbench(judge instanceof ChatJudge chat ? axbench(chat, samples, r) : AxBenchScores.getDefaultInstance())
                .build();
    }

    private static List<EvaluatedPoint> checkpointed(OperationContext op) throws java.io.IOException {
        if (op.checkpoint().isEmpty()) return List.of();
        return op.checkpoint().get().unpack(EvaluateResult.class).getPointsList();
    }

    private List<String> generate(EvaluateRequest r, Prompt prompt, List<Intervention> ivs) {
        List<CompletableFuture<String>> futures = new ArrayList<>();
        long seed = r.getSampling().hasSeed() ? r.getSampling().getSeed() : 0;
        for (int i = 0; i < r.getSamples(); i++) {
            GenerateRequest g = GenerateRequest.newBuilder().setPrompt(prompt)
                    .setSampling(r.getSampling().toBuilder().setSeed(seed + i)).addAllInterventions(ivs).build();
            futures.add(pacer.submit(r, () -> {
                CompletableFuture<String> f = new CompletableFuture<>();
                StringBuilder text = new StringBuilder();
                mesh.model().withDeadlineAfter(30, TimeUnit.MINUTES).generate(g, new StreamObserver<>() {
                    public void onNext(GenerateResponse v) { text.append(v.getTextDelta()); }
                    public void onError(Throwable t) { f.completeExceptionally(t); }
                    public void onCompleted() { f.complete(text.toString()); }
                });
                return f;
            }));
        }
        return futures.stream().map(CompletableFuture::join).toList();
    }

    /** AxBench's ratings of every sample: the concept is the criterion, the instruction the request's prompt. */
    private static AxBenchScores axbench(ChatJudge judge, List<String> samples, EvaluateRequest r) {
        Prompt p = r.getPrompt();
        String instruction = p.getKindCase() == Prompt.KindCase.CHAT && p.getChat().getMessagesCount() > 0
                ? p.getChat().getMessages(p.getChat().getMessagesCount() - 1).getContent() : p.getText();
        double[] concept = new double[samples.size()], follows = new double[samples.size()], fluency = new double[samples.size()];
        double[] harmonic = new double[samples.size()];
        for (int i = 0; i < samples.size(); i++) {
            ChatJudge.AxBench a = judge.axbench(samples.get(i), r.getCriterion(), instruction);
            concept[i] = a.concept();
            follows[i] = a.instruction();
            fluency[i] = a.fluency();
            harmonic[i] = a.harmonicMean();
        }
        return AxBenchScores.newBuilder().setConcept(mean(concept)).setInstruction(mean(follows)).setFluency(mean(fluency))
                .setHarmonicMean(mean(harmonic)).addAllSampleHarmonicMean(java.util.Arrays.stream(harmonic).boxed().toList()).build();
    }

    /** exp(mean per-token log-prob) of each sample after the prompt, under the unsteered model. */
    private double[] coherence(Prompt prompt, List<String> samples) {
        double[] out = new double[samples.size()];
        for (int i = 0; i < out.length; i++) {
            if (samples.get(i).isEmpty()) {
                out[i] = 0;
                continue;
            }
            ScoreResponse s = mesh.modelBlocking().withDeadlineAfter(10, TimeUnit.MINUTES)
                    .score(ScoreRequest.newBuilder().setPrompt(prompt).setContinuationText(samples.get(i)).build());
            out[i] = s.getLogprobsCount() == 0 ? 0 : Math.exp(s.getTotalLogprob() / s.getLogprobsCount());
        }
        return out;
    }

    static double mean(double[] values) {
        double sum = 0;
        int n = 0;
        for (double v : values) {
            if (Double.isNaN(v)) continue;
            sum += v;
            n++;
        }
        return n == 0 ? Double.NaN : sum / n;
    }
}
