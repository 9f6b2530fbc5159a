package steering.cli;

import steering.common.client.ModelClient;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "evaluate", description = "Scale sweep through the gateway: behaviour x coherence of the steering at each scale "
        + "(ADD's scale, the value of clamp / caps / sae-feature; ablate takes 0 and 1), with progress.")
class Evaluate implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();
    @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();
    @CommandLine.Mixin SteeringOptions steering = new SteeringOptions();
    @Option(names = "--prompt", defaultValue = "I think") String prompt;
    @Option(names = "--criterion", required = true, description = "e.g. \"The text is about weddings.\"") String criterion;
    @Option(names = "--scales", split = ",", defaultValue = "0,8,16,24,32") List<Double> scales;
    @Option(names = "--samples", defaultValue = "4") int samples;
    @Option(names = "--max-tokens", defaultValue = "32") int maxTokens;
    @Option(names = "--judge", defaultValue = "embedding", description = "embedding or chat") String judge;

    @Override
    public Integer call() throws Exception {
        ModelClient model = target.client();
        ManagedChannel gw = gateway.channel();
        try {
            if (!steering.enabled()) throw new CommandLine.ParameterException(new CommandLine(this), "give --positive (and --negative) texts, or --sae and --feature");
            Intervention v = steering.intervention(target.model(model));
            var stub = gateway.stub(gw, target.deadlineSeconds);
            Operation op = stub.startEvaluate(EvaluateRequest.newBuilder()
                    .setPrompt(Prompt.newBuilder().setText(prompt)).setCriterion(criterion).setSamples(samples)
                    .setSampling(SamplingParams.newBuilder().setMaxTokens(maxTokens).setTemperature(1.0f).setTopP(0.3f).setSeed(0))
                    .setBehaviourJudge(judge.equals("chat") ? BehaviourJudge.BEHAVIOUR_JUDGE_CHAT : BehaviourJudge.BEHAVIOUR_JUDGE_EMBEDDING)
                    .addConfigs(EvaluatedConfig.newBuilder().setLabel(steering.kind.kind() + " " + (steering.needsGateway() ? steering.sae + ":" + steering.feature : steering.contrast.hook)).addSteering(SteeringSpec.newBuilder().setIntervention(v))
                            .addAllScales(scales)).build());
            Operation last;
            try {
                last = OperationProgress.follow(stub.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()), op, "evaluation");
            } catch (IllegalStateException e) {
                System.err.println(e.getMessage());
                return 1;
            }
            EvaluateResult result = last.getResult().unpack(EvaluateResult.class);
            System.out.printf("criterion: %s   judge: %s   %.0f s%n%n| %s | behaviour | coherence | product |%n|---|---|---|---|%n",
                    result.getCriterion(), result.getJudge(), result.getWallSeconds(), steering.magnitudeName());
            for (EvaluatedPoint p : result.getPointsList()) {
                System.out.printf("| %.2f | %.3f | %.3f | %.3f |%n", p.getScale(), p.getBehaviour(), p.getCoherence(), p.getProduct());
            }
            BestScale best = result.getBest(0);
            System.out.printf("%nbest %s %.2f (behaviour x coherence %.3f)%n", steering.magnitudeName(), best.getScale(), best.getProduct());
            return 0;
        } finally {
            model.close();
            gw.shutdownNow();
        }
    }
}
