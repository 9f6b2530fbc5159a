package steering.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "compare", description = "Generate side by side through the gateway: unsteered and a contrast vector at each scale, same seeds.")
class Compare implements Callable<Integer> {
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
        return gateway.withContrastVector(target, contrast, this, (v, gw) -> {
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
        });
    }
}
