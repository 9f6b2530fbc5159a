package steering.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** steer: talk to the steering mesh from a terminal. */
@Command(name = "steer", mixinStandardHelpOptions = true, version = "steer 0.1.0",
        description = "Steered generation and steering vectors over gRPC.",
        subcommands = {Steer.Info.class, Steer.Wait.class, Steer.Generate.class, Steer.Compare.class, Steer.Evaluate.class, Steer.Demo.class})
public final class Steer {

    public static void main(String[] args) {
        int code = new CommandLine(new Steer()).setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof StatusRuntimeException s) {
                cmd.getErr().println("error: " + s.getStatus().getCode() + ": " + s.getStatus().getDescription());
                return 2;
            }
            throw ex;
        }).execute(args);
        System.exit(code);
    }

    /** Options every command shares. */
    static class Target {
        @Option(names = "--model-service", defaultValue = "${env:STEERING_MODEL_SERVICE_ADDRESS:-127.0.0.1:50051}",
                description = "model-service address (default: ${DEFAULT-VALUE})")
        String modelService;

        @Option(names = "--deadline", defaultValue = "300", description = "seconds before a call gives up (default: ${DEFAULT-VALUE})")
        long deadlineSeconds;

        ManagedChannel channel() {
            return NettyChannelBuilder.forTarget(modelService).usePlaintext().maxInboundMessageSize(64 << 20).build();
        }

        ModelServiceGrpc.ModelServiceBlockingStub model(ManagedChannel ch) {
            return ModelServiceGrpc.newBlockingStub(ch).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
        }
    }

    /** The gateway, for the commands that go through it. */
    static class GatewayTarget {
        @Option(names = "--gateway", defaultValue = "${env:STEERING_GATEWAY_ADDRESS:-127.0.0.1:50050}",
                description = "gateway address (default: ${DEFAULT-VALUE})")
        String gateway;

        @Option(names = "--api-key", defaultValue = "${env:STEERING_API_KEY:-}", description = "gateway API key (env STEERING_API_KEY)")
        String apiKey;

        ManagedChannel channel() {
            return NettyChannelBuilder.forTarget(gateway).usePlaintext().maxInboundMessageSize(64 << 20).build();
        }

        SteeringGrpc.SteeringBlockingStub stub(ManagedChannel ch, long deadlineSeconds) {
            SteeringGrpc.SteeringBlockingStub stub = SteeringGrpc.newBlockingStub(ch).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
            if (apiKey == null || apiKey.isBlank()) return stub;
            io.grpc.Metadata auth = new io.grpc.Metadata();
            auth.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
            return stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(auth));
        }
    }

    @Command(name = "compare", description = "Generate side by side through the gateway: unsteered and a contrast vector at each scale, same seeds.")
    static class Compare implements Callable<Integer> {
        @CommandLine.Mixin Target target = new Target();
        @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();
        @CommandLine.Mixin SamplingOptions sampling = new SamplingOptions();
        @CommandLine.Mixin ContrastOptions contrast = new ContrastOptions();
        @Option(names = "--prompt", required = true) String prompt;
        @Option(names = "--chat") boolean chat;
        @Option(names = "--scales", split = ",", defaultValue = "8,16,24") List<Double> scales;
        @Option(names = "--samples", defaultValue = "1") int samples;

        @Override
        public Integer call() throws Exception {
            ManagedChannel model = target.channel();
            ManagedChannel gw = gateway.channel();
            try {
                if (!contrast.enabled()) throw new CommandLine.ParameterException(new CommandLine(this), "give --positive (and --negative) texts");
                Intervention v = contrast.intervention(target.model(model));
                CompareRequest.Builder req = CompareRequest.newBuilder().setPrompt(Prompts.of(prompt, chat))
                        .setSampling(sampling.params()).setSamples(samples)
                        .addConfigs(SteeringConfig.newBuilder().setLabel("unsteered"));
                for (double scale : scales) {
                    req.addConfigs(SteeringConfig.newBuilder().setLabel("scale " + scale)
                            .addSteering(SteeringSpec.newBuilder().setIntervention(v).setScale(scale)));
                }
                for (ComparedGeneration g : gateway.stub(gw, target.deadlineSeconds).compare(req.build()).getGenerationsList()) {
                    System.out.printf("[%-10s seed %d] %s%s%n", g.getLabel(), g.getSeed(), prompt, g.getText().replace('\n', ' '));
                }
                return 0;
            } finally {
                model.shutdownNow();
                gw.shutdownNow();
            }
        }
    }

    @Command(name = "evaluate", description = "Scale sweep through the gateway: behaviour x coherence of a contrast vector, with progress.")
    static class Evaluate implements Callable<Integer> {
        @CommandLine.Mixin Target target = new Target();
        @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();
        @CommandLine.Mixin ContrastOptions contrast = new ContrastOptions();
        @Option(names = "--prompt", defaultValue = "I think") String prompt;
        @Option(names = "--criterion", required = true, description = "e.g. \"The text is about weddings.\"") String criterion;
        @Option(names = "--scales", split = ",", defaultValue = "0,8,16,24,32") List<Double> scales;
        @Option(names = "--samples", defaultValue = "4") int samples;
        @Option(names = "--max-tokens", defaultValue = "32") int maxTokens;
        @Option(names = "--judge", defaultValue = "embedding", description = "embedding or chat") String judge;

        @Override
        public Integer call() throws Exception {
            ManagedChannel model = target.channel();
            ManagedChannel gw = gateway.channel();
            try {
                if (!contrast.enabled()) throw new CommandLine.ParameterException(new CommandLine(this), "give --positive (and --negative) texts");
                Intervention v = contrast.intervention(target.model(model));
                var stub = gateway.stub(gw, target.deadlineSeconds);
                Operation op = stub.startEvaluate(EvaluateRequest.newBuilder()
                        .setPrompt(Prompt.newBuilder().setText(prompt)).setCriterion(criterion).setSamples(samples)
                        .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(1.0f).setTopP(0.3f).setSeed(0))
                        .setBehaviourJudge(judge.equals("chat") ? BehaviourJudge.BEHAVIOUR_JUDGE_CHAT : BehaviourJudge.BEHAVIOUR_JUDGE_EMBEDDING)
                        .addConfigs(EvaluatedConfig.newBuilder().setLabel(contrast.hook).addSteering(SteeringSpec.newBuilder().setIntervention(v))
                                .addAllScales(scales)).build());
                Operation last = op;
                for (Iterator<Operation> it = stub.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()); it.hasNext(); ) {
                    last = it.next();
                    System.err.printf("\r[%-30s] %3.0f%% %s", "#".repeat((int) Math.round(30 * last.getProgress())), 100 * last.getProgress(), last.getMessage());
                }
                System.err.println();
                if (last.getState() != OperationState.OPERATION_STATE_SUCCEEDED) {
                    System.err.println("evaluation " + last.getState() + ": " + last.getError().getMessage());
                    return 1;
                }
                EvaluateResult result = last.getResult().unpack(EvaluateResult.class);
                System.out.printf("criterion: %s   judge: %s   %.0f s%n%n| scale | behaviour | coherence | product |%n|---|---|---|---|%n",
                        result.getCriterion(), result.getJudge(), result.getWallSeconds());
                for (EvaluatedPoint p : result.getPointsList()) {
                    System.out.printf("| %.2f | %.3f | %.3f | %.3f |%n", p.getScale(), p.getBehaviour(), p.getCoherence(), p.getProduct());
                }
                BestScale best = result.getBest(0);
                System.out.printf("%nbest scale %.2f (behaviour x coherence %.3f)%n", best.getScale(), best.getProduct());
                return 0;
            } finally {
                model.shutdownNow();
                gw.shutdownNow();
            }
        }
    }

    @Command(name = "info", description = "Show the served model.")
    static class Info implements Callable<Integer> {
        @CommandLine.Mixin Target target = new Target();

        @Override
        public Integer call() throws Exception {
            ManagedChannel ch = target.channel();
            try {
                ModelInfo info = target.model(ch).getModelInfo(GetModelInfoRequest.getDefaultInstance());
                System.out.printf("%s  %s  layers=%d d_model=%d heads=%d/%d vocab=%d context=%d weights=%s/%s chat=%s%n",
                        info.getModelId(), info.getArchitecture(), info.getNLayers(), info.getDModel(), info.getNHeads(),
                        info.getNKvHeads(), info.getVocabSize(), info.getContextLength(), info.getSourceFormat(),
                        info.getWeightsType(), info.getHasChatTemplate());
                return 0;
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Command(name = "wait", description = "Wait until the service's gRPC health check says SERVING.")
    static class Wait implements Callable<Integer> {
        @CommandLine.Mixin Target target = new Target();

        @Override
        public Integer call() throws Exception {
            ManagedChannel ch = target.channel();
            try {
                waitUntilServing(ch);
                return 0;
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Command(name = "generate", description = "Generate text, optionally steered by a contrast vector built on the fly.")
    static class Generate implements Callable<Integer> {
        @CommandLine.Mixin Target target = new Target();
        @CommandLine.Mixin SamplingOptions sampling = new SamplingOptions();
        @CommandLine.Mixin ContrastOptions contrast = new ContrastOptions();

        @Option(names = "--prompt", required = true) String prompt;
        @Option(names = "--chat", description = "wrap the prompt as a user turn of the model's chat template") boolean chat;

        @Override
        public Integer call() throws Exception {
            ManagedChannel ch = target.channel();
            try {
                var stub = target.model(ch);
                GenerateRequest.Builder req = GenerateRequest.newBuilder().setPrompt(Prompts.of(prompt, chat)).setSampling(sampling.params());
                if (contrast.enabled()) req.addInterventions(contrast.intervention(stub));
                Iterator<GenerateResponse> it = stub.generate(req.build());
                while (it.hasNext()) {
                    GenerateResponse r = it.next();
                    System.out.print(r.getTextDelta());
                    System.out.flush();
                }
                System.out.println();
                return 0;
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Command(name = "demo", description = "Build a contrast vector (mean activation difference) and print the steered "
            + "generation beside the unsteered one, with the same seed.")
    static class Demo implements Callable<Integer> {
        @CommandLine.Mixin Target target = new Target();

        @Option(names = "--prompt", defaultValue = "I think") String prompt;
        @Option(names = "--layer", defaultValue = "-1", description = "block whose resid_pre is steered (default: 1/3 of the depth)") int layer;
        @Option(names = "--scale", defaultValue = "24") double scale;
        @Option(names = "--max-tokens", defaultValue = "40") int maxTokens;
        @Option(names = "--seed", defaultValue = "7") long seed;
        @Option(names = "--samples", defaultValue = "2") int samples;

        @Override
        public Integer call() throws Exception {
            ManagedChannel ch = target.channel();
            try {
                var stub = target.model(ch);
                waitUntilServing(ch);
                ModelInfo info = stub.getModelInfo(GetModelInfoRequest.getDefaultInstance());
                int l = layer >= 0 ? layer : info.getNLayers() / 3;
                ContrastOptions c = new ContrastOptions();
                c.positive = List.of("I love you so much.", "Love is wonderful and warm.", "I adore my friends, they fill me with joy.",
                        "What a lovely, kind and caring person.", "We hugged and laughed together happily.");
                c.negative = List.of("I hate you so much.", "Hate is terrible and cold.", "I despise my enemies, they fill me with rage.",
                        "What an awful, cruel and spiteful person.", "We fought and screamed at each other angrily.");
                c.hook = "blocks." + l + ".hook_resid_pre";
                c.scale = scale;
                Intervention steer = c.intervention(stub);
                System.out.printf("model %s; steering vector: mean(love sentences) - mean(hate sentences) at %s, unit norm x %.1f, all positions%n%n",
                        info.getModelId(), c.hook, scale);
                for (int s = 0; s < samples; s++) {
                    SamplingParams p = SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(0.7f).setTopP(0.9f)
                            .setSeed(seed + s).setIgnoreEos(false).build();
                    String plain = generate(stub, GenerateRequest.newBuilder().setPrompt(Prompts.of(prompt, false)).setSampling(p).build());
                    String steered = generate(stub, GenerateRequest.newBuilder().setPrompt(Prompts.of(prompt, false)).setSampling(p)
                            .addInterventions(steer).build());
                    System.out.printf("--- sample %d (seed %d) ---%n[unsteered] %s%s%n[steered  ] %s%s%n%n", s + 1, seed + s,
                            prompt, oneLine(plain), prompt, oneLine(steered));
                }
                return 0;
            } finally {
                ch.shutdownNow();
            }
        }

        private static String oneLine(String s) {
            return s.replace('\n', ' ');
        }
    }

    static String generate(ModelServiceGrpc.ModelServiceBlockingStub stub, GenerateRequest req) {
        StringBuilder out = new StringBuilder();
        stub.generate(req).forEachRemaining(r -> out.append(r.getTextDelta()));
        return out.toString();
    }

    /** Blocks until the service's gRPC health check says SERVING (the model may still be loading). */
    static void waitUntilServing(ManagedChannel ch) throws InterruptedException {
        var health = io.grpc.health.v1.HealthGrpc.newBlockingStub(ch);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (true) {
            try {
                var r = health.withDeadlineAfter(5, TimeUnit.SECONDS).check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance());
                if (r.getStatus() == io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING) return;
            } catch (StatusRuntimeException e) {
                // not up yet
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("the service did not become healthy in 5 minutes");
            Thread.sleep(500);
        }
    }

    static final class Prompts {
        static Prompt of(String text, boolean chat) {
            if (!chat) return Prompt.newBuilder().setText(text).build();
            return Prompt.newBuilder().setChat(ChatMessages.newBuilder()
                    .addMessages(ChatMessage.newBuilder().setRole("user").setContent(text))).build();
        }
    }

    static class SamplingOptions {
        @Option(names = "--max-tokens", defaultValue = "64") int maxTokens;
        @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy") float temperature;
        @Option(names = "--top-p", defaultValue = "0") float topP;
        @Option(names = "--top-k", defaultValue = "0") int topK;
        @Option(names = "--seed") Long seed;
        @Option(names = "--stop") List<String> stop;

        SamplingParams params() {
            SamplingParams.Builder b = SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(temperature)
                    .setTopP(topP).setTopK(topK);
            if (seed != null) b.setSeed(seed);
            if (stop != null) b.addAllStop(stop);
            return b.build();
        }
    }

    /** A contrast vector: mean activation of positive texts minus negative texts at one hook, unit-normalized. */
    static class ContrastOptions {
        @Option(names = "--positive", description = "text the steering should move towards (repeatable)") List<String> positive;
        @Option(names = "--negative", description = "text the steering should move away from (repeatable)") List<String> negative;
        @Option(names = "--hook", defaultValue = "blocks.10.hook_resid_pre") String hook;
        @Option(names = "--scale", defaultValue = "8") double scale;

        boolean enabled() {
            return positive != null && !positive.isEmpty();
        }

        Intervention intervention(ModelServiceGrpc.ModelServiceBlockingStub stub) {
            float[] pos = mean(stub, positive);
            float[] neg = negative == null || negative.isEmpty() ? new float[pos.length] : mean(stub, negative);
            float[] v = new float[pos.length];
            double norm = 0;
            for (int i = 0; i < v.length; i++) {
                v[i] = pos[i] - neg[i];
                norm += v[i] * (double) v[i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < v.length; i++) v[i] /= (float) norm;
            return Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(hook))
                    .setVector(TensorCodec.ofFloats(v, v.length)).setScale(scale).setPositions(PositionPolicy.ALL).build();
        }

        private float[] mean(ModelServiceGrpc.ModelServiceBlockingStub stub, List<String> texts) {
            CaptureActivationsRequest.Builder req = CaptureActivationsRequest.newBuilder()
                    .addHooks(HookPoint.newBuilder().setName(hook)).setReduction(Reduction.MEAN)
                    .setSelection(PositionSelection.newBuilder().setExcludeBos(true));
            for (String t : texts) req.addInputs(Prompt.newBuilder().setText(t));
            float[] acc = null;
            Iterator<CaptureActivationsResponse> it = stub.captureActivations(req.build());
            while (it.hasNext()) {
                float[] m = TensorCodec.toFloats(it.next().getActivations());
                if (acc == null) acc = new float[m.length];
                for (int i = 0; i < m.length; i++) acc[i] += m[i] / texts.size();
            }
            return acc;
        }
    }
}
