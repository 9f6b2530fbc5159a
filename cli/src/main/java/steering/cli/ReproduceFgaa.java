package steering.cli;

import steering.common.steer.VectorTensor;
import steering.common.client.SaeClient;

import steering.common.client.VectorClient;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.common.io.AtomicFiles;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The FGAA paper's comparison (Soo et al. 2025, after SAE-TS's protocol) run against the mesh: for each task, build
 * CAA (the papers' token-mean variant), SAE decoder, SAE-TS and FGAA vectors at the SAE's hook, sweep their scale
 * through the gateway's Evaluate, and keep each task's result as JSON; then render the report (FgaaReport).
 * Tasks whose result exists are skipped, so an interrupted run resumes where it stopped.
 */
@Command(name = "reproduce-fgaa", description = "Reproduce the FGAA paper's method comparison on the served model and write a report.")
class ReproduceFgaa implements Callable<Integer> {
    // "CAA" is the papers' baseline (token means with BOS); "CAA (no BOS)" leaves the BOS position out of the means:
    // SmolLM2's BOS residual carries massive activations that dominate the with-BOS difference (README.md)
    // "BiPO": a vector trained on the task's sentences (Cao et al. 2024; vector-service's trained recipe), taken at
    // unit norm like the others; "Prompted": no vector, the model asked for the behaviour in a system message
    // (the prompting baseline AxBench ranks above every activation-difference method)
    static final String[] METHODS = {"CAA", "CAA (no BOS)", "SAE decoder", "SAE-TS", "FGAA", "BiPO", "Prompted"};
    /** The methods that need the SAE and its effect approximator. */
    static final List<String> SAE_METHODS = List.of("SAE decoder", "SAE-TS", "FGAA");

    @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();
    @Option(names = "--vector-service", defaultValue = "${env:STEERING_VECTOR_SERVICE_ADDRESS:-127.0.0.1:50053}") String vectorService;
    @Option(names = "--sae-service", defaultValue = "${env:STEERING_SAE_SERVICE_ADDRESS:-127.0.0.1:50052}") String saeService;
    @Option(names = "--approximator", description = "effect approximator id (default: the newest one for --sae, or for the served model)") String approximator;
    @Option(names = "--sae", description = "SAE id: use the newest approximator trained for it") String saeId;
    @Option(names = "--train-approximator", description = "with --sae: train an approximator for it when it has none (~20 min for SmolLM2 on 2 cores)") boolean train;
    @Option(names = "--tasks", description = "tasks JSON (default: the nine built-in tasks)") Path tasksFile;
    @Option(names = "--only", split = ",", description = "task names to run") List<String> only;
    @Option(names = "--samples", defaultValue = "16", description = "samples per (method, scale); the papers used 256") int samples;
    @Option(names = "--scales", split = ",", defaultValue = "10,20,30,40,60,80,110",
            description = "raw scales of the unit-norm vectors (0, the unsteered baseline, is always added)") List<Double> scales;
    @Option(names = "--max-tokens", defaultValue = "30") int maxTokens;
    @Option(names = "--prompt", defaultValue = "I think") String prompt;
    @Option(names = "--out", defaultValue = "docs/fgaa-reproduction") Path out;
    @Option(names = "--force", description = "re-run tasks that already have a result") boolean force;
    @Option(names = "--render-only", description = "only render the report from the stored results") boolean renderOnly;
    @Option(names = "--deadline", defaultValue = "14400", description = "seconds for the whole run's calls") long deadlineSeconds;
    @Option(names = "--bipo-steps", defaultValue = "60", description = "optimiser steps of the BiPO vector") int bipoSteps;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        Path results = out.resolve("results");
        Files.createDirectories(results);
        JsonNode tasks = loadTasks();
        if (!renderOnly) run(tasks, results);
        FgaaReport.render(tasks, results, out);
        System.err.println("report: " + out.resolve("results.md") + " and " + out.resolve("plots.html"));
        return 0;
    }

    private JsonNode loadTasks() throws IOException {
        if (tasksFile != null) return JSON.readTree(tasksFile.toFile());
        try (InputStream in = ReproduceFgaa.class.getResourceAsStream("fgaa-tasks.json")) {
            return JSON.readTree(in);
        }
    }

    private void run(JsonNode tasks, Path results) throws Exception {
        ManagedChannel gw = gateway.channel();
        // vector-service and sae-service with the same TLS settings (STEERING_TLS_*) as the gateway's
        VectorClient vec = new VectorClient(vectorService, Target.Tls.channels(), deadlineSeconds);
        SaeClient sae = new SaeClient(saeService, Target.Tls.channels(), deadlineSeconds);
        try {
            var steering = gateway.stub(gw, deadlineSeconds);
            var vectors = vec.blocking().withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
            var saes = sae.blocking().withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
            ModelInfo model = steering.getModelInfo(GetModelInfoRequest.getDefaultInstance());

            List<JsonNode> todo = new ArrayList<>();
            for (JsonNode t : tasks.get("tasks")) {
                String name = t.get("name").asText();
                if (only != null && !only.contains(name)) continue;
                if (!force && Files.exists(results.resolve(name + ".json"))
                        && missingMethods((ObjectNode) JSON.readTree(results.resolve(name + ".json").toFile())).isEmpty()) {
                    System.err.println(name + ": result exists, skipped (--force re-runs it)");
                    continue;
                }
                todo.add(t);
            }
            // the SAE and its approximator only when a task still needs an SAE method (adding BiPO or Prompted to
            // stored results needs neither)
            EffectApproximatorInfo approx = null;
            SaeInfo saeInfo = null;
            boolean needSae = false;
            for (JsonNode t : todo) {
                Path file = results.resolve(t.get("name").asText() + ".json");
                needSae |= force || !Files.exists(file) || missingMethods((ObjectNode) JSON.readTree(file.toFile())).stream().anyMatch(SAE_METHODS::contains);
            }
            if (needSae) {
                approx = approximator(vectors, model);
                saeInfo = saes.getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId(approx.getSaeId()).build());
                ObjectNode setup = JSON.createObjectNode();
                setup.set("model", proto(model));
                setup.set("sae", proto(saeInfo));
                setup.set("approximator", proto(approx));
                AtomicFiles.writeString(results.resolve("setup.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(setup));
            }
            for (int i = 0; i < todo.size(); i++) {
                JsonNode t = todo.get(i);
                String name = t.get("name").asText();
                long start = System.nanoTime();
                Path file = results.resolve(name + ".json");
                ObjectNode existing = !force && Files.exists(file) ? (ObjectNode) JSON.readTree(file.toFile()) : null;
                ObjectNode result = runTask(t, approx, saeInfo, steering, saes, vectors, "[" + (i + 1) + "/" + todo.size() + "] " + name, existing);
                result.put("wall_seconds", result.path("wall_seconds").asDouble() + (System.nanoTime() - start) / 1e9);
                AtomicFiles.writeString(results.resolve(name + ".json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(result));
            }
        } finally {
            gw.shutdownNow();
            vec.close();
            sae.close();
        }
    }

    private ObjectNode runTask(JsonNode task, EffectApproximatorInfo approx, SaeInfo sae, SteeringGrpc.SteeringBlockingStub steering,
                               SaeServiceGrpc.SaeServiceBlockingStub saes, VectorServiceGrpc.VectorServiceBlockingStub vectorService,
                               String progressLabel, ObjectNode existing) throws IOException {
        String name = task.get("name").asText();
        List<String> positive = texts(task.get("positive"));
        List<String> negative = texts(task.get("negative"));
        List<String> methods = existing == null ? List.of(METHODS) : missingMethods(existing);
        boolean saeMethods = existing == null || methods.stream().anyMatch(SAE_METHODS::contains);
        // the hook every vector of the task uses: the SAE's (a stored result's, when the SAE is not needed now)
        HookPoint hook = saeMethods ? sae.getHook()
                : HookPoint.newBuilder().setName(existing.get("vectors").get(0).get("hook").get("name").asText()).build();
        System.err.println(progressLabel + ": building vectors");
        SteeringVector[] vectors = new SteeringVector[METHODS.length];
        WeightedFeature top = null;
        FeatureStatsResponse stats = null;
        vectors[0] = build(steering, name, "caa", BuildVectorRequest.newBuilder().setCaaMean(CaaMeanRecipe.newBuilder()
                .setHook(hook).addAllPositive(positive).addAllNegative(negative)));
        vectors[1] = build(steering, name, "caa-no-bos", BuildVectorRequest.newBuilder().setCaaMean(CaaMeanRecipe.newBuilder()
                .setHook(hook).addAllPositive(positive).addAllNegative(negative).setIncludeBos(false)));
        if (saeMethods) {
            SteeringVector fgaa = build(steering, name, "fgaa", BuildVectorRequest.newBuilder().setFgaa(FgaaRecipe.newBuilder()
                    .setApproximatorId(approx.getId()).addAllPositive(positive).addAllNegative(negative)));
            // The papers hand-picked one to three features per task for SAE decoder steering and SAE-TS; we take the
            // feature FGAA ranks first (largest filtered SAE-space contrast), so all SAE methods aim at the same concept.
            top = fgaa.getFeaturesList().stream().max(Comparator.comparingDouble(WeightedFeature::getWeight))
                    .orElseThrow(() -> new IllegalStateException(name + ": FGAA kept no feature"));
            WeightedFeature target = WeightedFeature.newBuilder().setFeature(top.getFeature()).setWeight(1).build();
            vectors[2] = build(steering, name, "sae-decoder", BuildVectorRequest.newBuilder().setSaeDecoder(SaeDecoderRecipe.newBuilder()
                    .setSaeId(sae.getId()).addFeatures(target)));
            vectors[3] = build(steering, name, "sae-ts", BuildVectorRequest.newBuilder().setSaeTs(SaeTsRecipe.newBuilder()
                    .setApproximatorId(approx.getId()).addTargets(target)));
            vectors[4] = fgaa;
            stats = saes.featureStats(FeatureStatsRequest.newBuilder().setSaeId(sae.getId())
                    .addFeatures(top.getFeature()).setTopContexts(3).build());
        }
        if (methods.contains("BiPO")) vectors[5] = bipo(vectorService, steering, name, hook, positive, negative, progressLabel);

        EvaluateRequest.Builder eval = EvaluateRequest.newBuilder().setPrompt(Prompt.newBuilder().setText(prompt))
                .setCriterion(task.get("criterion").asText()).setSamples(samples)
                .setBehaviourJudge(BehaviourJudge.BEHAVIOUR_JUDGE_EMBEDDING)
                // SAE-TS's analyse_steer sampling: top-k 50, top-p 0.3, temperature 1
                .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(1.0f).setTopK(50).setTopP(0.3f).setSeed(0));
        if (existing == null) {
            eval.addConfigs(EvaluatedConfig.newBuilder().setLabel("unsteered").addSteering(SteeringSpec.newBuilder().setVectorId(vectors[0].getId())).addScales(0));
        } else {
            System.err.println(progressLabel + ": adding " + methods + " to the stored result");
        }
        for (int m = 0; m < METHODS.length; m++) {
            if (!methods.contains(METHODS[m])) continue;
            if (METHODS[m].equals("Prompted")) {
                eval.addConfigs(EvaluatedConfig.newBuilder().setLabel(METHODS[m]).setPrompting(PromptingBaseline.newBuilder()
                        .setSystemMessage(promptingInstruction(task.get("criterion").asText()))));
                continue;
            }
            eval.addConfigs(EvaluatedConfig.newBuilder().setLabel(METHODS[m])
                    .addSteering(SteeringSpec.newBuilder().setVectorId(vectors[m].getId())).addAllScales(scales));
        }
        Operation op = steering.startEvaluate(eval.build());
        Operation last = OperationProgress.follow(steering.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()), op, progressLabel);
        EvaluateResult evaluation = last.getResult().unpack(EvaluateResult.class);

        if (existing != null) return merge(existing, evaluation, vectors, methods);
        ObjectNode result = JSON.createObjectNode();
        result.put("task", name);
        result.put("criterion", task.get("criterion").asText());
        result.put("prompt", prompt);
        result.put("samples", samples);
        result.put("max_tokens", maxTokens);
        result.put("created_at", Instant.now().toString());
        result.put("target_feature", top.getFeature());
        result.set("target_feature_stats", proto(stats));
        addDescriptions(result.putArray("vectors"), vectors, List.of(METHODS));
        result.set("evaluation", proto(evaluation));
        return result;
    }

    /** The methods of METHODS that a stored result has no points for (results made before a method was added). */
    static List<String> missingMethods(ObjectNode result) {
        List<String> missing = new ArrayList<>(List.of(METHODS));
        result.path("evaluation").path("points").forEach(p -> missing.remove(p.path("label").asText()));
        return missing;
    }

    /** Adds the points, best scales and vector descriptions of newly evaluated methods to a stored result. */
    private static ObjectNode merge(ObjectNode existing, EvaluateResult evaluation, SteeringVector[] vectors, List<String> methods) throws IOException {
        ObjectNode added = proto(evaluation);
        ObjectNode eval = (ObjectNode) existing.get("evaluation");
        ((ArrayNode) eval.withArray("points")).addAll((ArrayNode) added.withArray("points"));
        ((ArrayNode) eval.withArray("best")).addAll((ArrayNode) added.withArray("best"));
        addDescriptions(existing.withArray("vectors"), vectors, methods);
        return existing;
    }

    /** The vectors of `methods` without their tensors (the registry keeps those), labelled with the method. */
    private static void addDescriptions(ArrayNode into, SteeringVector[] vectors, List<String> methods) throws IOException {
        for (int m = 0; m < METHODS.length; m++) {
            if (!methods.contains(METHODS[m]) || vectors[m] == null) continue;
            ObjectNode v = proto(vectors[m].toBuilder().clearVector().clearIntervention().clearRecipe().build());
            v.put("label", METHODS[m]);
            into.add(v);
        }
    }

    /**
     * The system message of the prompting baseline: the behaviour asked for in the criterion's words. Asked to make
     * its text "hold" the criterion, SmolLM2 repeated the criterion verbatim (which the embedding judge scores 1.0),
     * so the message asks for a continuation of the user's words and forbids quoting.
     */
    static String promptingInstruction(String criterion) {
        return "Continue the user's text with one or two sentences of your own, starting with the user's words. "
                + "Your text must fit this description, but never quote or mention the description itself: " + criterion;
    }

    /**
     * A BiPO vector trained on the task's sentences as completions after the evaluation prompt (its training
     * report stays in the registry under fgaa-repro-TASK-bipo-trained), stored at unit norm like the other methods.
     */
    private SteeringVector bipo(VectorServiceGrpc.VectorServiceBlockingStub vectorService, SteeringGrpc.SteeringBlockingStub steering,
                                String task, HookPoint hook, List<String> positive, List<String> negative, String progressLabel) {
        String id = "fgaa-repro-" + task.replace('_', '-') + "-bipo-trained";
        Operation op = vectorService.startBuildVector(BuildVectorRequest.newBuilder().setVectorId(id).setOverwrite(true)
                .setDescription("FGAA reproduction, task " + task + ": BiPO on its sentences")
                .setTrained(TrainedRecipe.newBuilder().setHook(hook).setObjective(TrainingObjective.TRAINING_OBJECTIVE_BIPO)
                        .setSentences(SentencePairs.newBuilder().addAllPositive(positive).addAllNegative(negative).addPrompts(" " + prompt.trim()))
                        .setSteps(bipoSteps).setBatchSize(4).setLearningRate(0.05).setBeta(0.1).setSeed(1).setEvalEvery(10).setPatience(3))
                .build());
        Operation last = OperationProgress.follow(vectorService.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()),
                op, progressLabel + " BiPO");
        SteeringVector trained;
        try {
            trained = last.getResult().unpack(BuildVectorResponse.class).getVector();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(task + ": BiPO training returned no vector", e);
        }
        float[] v = TensorCodec.toFloats(VectorTensor.of(trained));
        double norm = trained.getNorm();
        for (int i = 0; i < v.length; i++) v[i] /= (float) norm;
        return build(steering, task, "bipo", BuildVectorRequest.newBuilder().setRaw(RawVectorRecipe.newBuilder().setHook(hook)
                .setVector(TensorCodec.ofFloats(v, v.length)).setPositions(PositionPolicy.ALL)));
    }

    private SteeringVector build(SteeringGrpc.SteeringBlockingStub steering, String task, String method, BuildVectorRequest.Builder recipe) {
        return steering.buildVector(recipe.setVectorId("fgaa-repro-" + task.replace('_', '-') + "-" + method)
                .setOverwrite(true).setDescription("FGAA reproduction, task " + task).build()).getVector();
    }

    private EffectApproximatorInfo approximator(VectorServiceGrpc.VectorServiceBlockingStub vectors, ModelInfo model) {
        if (approximator != null) {
            return vectors.getEffectApproximator(GetEffectApproximatorRequest.newBuilder().setId(approximator).build());
        }
        ListEffectApproximatorsRequest.Builder filter = ListEffectApproximatorsRequest.newBuilder().setModelId(model.getModelId());
        if (saeId != null) filter.setSaeId(saeId);
        return vectors.listEffectApproximators(filter.build()).getApproximatorsList().stream()
                .max(Comparator.comparingLong(a -> a.getCreatedAt().getSeconds())).orElseGet(() -> {
                    if (saeId == null || !train) {
                        throw new CommandLine.ParameterException(new CommandLine(this), "vector-service has no effect approximator for "
                                + model.getModelId() + (saeId == null ? "" : " and SAE " + saeId) + "; give --sae SAE_ID --train-approximator to train one");
                    }
                    return trainApproximator(vectors, saeId);
                });
    }

    /** The CPU-budget approximator of docs/vector-service.md (192 directions), with progress. */
    private EffectApproximatorInfo trainApproximator(VectorServiceGrpc.VectorServiceBlockingStub vectors, String saeId) {
        String id = saeId + "-effects";
        Operation op = vectors.startTrainEffectApproximator(TrainEffectApproximatorRequest.newBuilder().setApproximatorId(id)
                .setSaeId(saeId).setDecoderDirections(128).setMixtureDirections(64).setRandomDirections(0)
                .setSamplesPerPrompt(1).setBaselineSamplesPerPrompt(10).setSequenceLength(32)
                .setLossDataset("wikitext103-1000").setLossChunks(2).setLossChunkTokens(32).setTargetLossIncrease(1.0)
                .setSeed(1).setOverwrite(true).build());
        OperationProgress.follow(vectors.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()), op,
                "training the effect approximator");
        return vectors.getEffectApproximator(GetEffectApproximatorRequest.newBuilder().setId(id).build());
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static ObjectNode proto(Message m) throws IOException {
        return (ObjectNode) JSON.readTree(JsonFormat.printer().alwaysPrintFieldsWithNoPresence().preservingProtoFieldNames().print(m));
    }
}
