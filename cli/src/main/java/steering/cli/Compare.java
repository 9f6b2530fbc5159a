package steering.cli;

import steering.common.client.ModelClient;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "compare", description = "Generate side by side through the gateway: unsteered and the steering at each scale "
        + "(ADD's scale, the value of clamp / caps / sae-feature), same seeds.")
class Compare implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();
    @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();
    @CommandLine.Mixin SamplingOptions sampling = new SamplingOptions();
    @CommandLine.Mixin SteeringOptions steering = new SteeringOptions();
    @Option(names = "--prompt", required = true) String prompt;
    @Option(names = "--chat") boolean chat;
    @Option(names = "--scales", split = ",", defaultValue = "8,16,24") List<Double> scales;
    @Option(names = "--samples", defaultValue = "1") int samples;

    @Override
    public Integer call() throws Exception {
        ModelClient model = target.client();
        ManagedChannel gw = gateway.channel();
        try {
            if (!steering.enabled()) throw new CommandLine.ParameterException(new CommandLine(this), "give --positive (and --negative) texts, or --sae and --feature");
            Intervention v = steering.intervention(target.model(model));
            CompareRequest.Builder req = CompareRequest.newBuilder().setPrompt(Prompts.of(prompt, chat))
                    .setSampling(sampling.params()).setSamples(samples)
                    .addConfigs(SteeringConfig.newBuilder().setLabel("unsteered"));
            for (double scale : scales) {
                req.addConfigs(SteeringConfig.newBuilder().setLabel(steering.magnitudeName() + " " + scale)
                        .addSteering(SteeringSpec.newBuilder().setIntervention(v).setScale(scale)));
            }
            for (ComparedGeneration g : gateway.stub(gw, target.deadlineSeconds).compare(req.build()).getGenerationsList()) {
                System.out.printf("[%-10s seed %d] %s%s%n", g.getLabel(), g.getSeed(), prompt, g.getText().replace('\n', ' '));
            }
            return 0;
        } finally {
            model.close();
            gw.shutdownNow();
        }
    }
}
