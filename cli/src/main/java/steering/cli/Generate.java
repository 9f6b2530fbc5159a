package steering.cli;

import steering.common.client.ModelClient;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.Iterator;
import java.util.concurrent.Callable;

@Command(name = "generate", description = "Generate text, optionally steered by a contrast vector built on the fly (any kind) "
        + "or an SAE feature (through the gateway).")
class Generate implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();
    @CommandLine.Mixin SamplingOptions sampling = new SamplingOptions();
    @CommandLine.Mixin SteeringOptions steering = new SteeringOptions();
    @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();

    @Option(names = "--prompt", required = true) String prompt;
    @Option(names = "--chat", description = "wrap the prompt as a user turn of the model's chat template") boolean chat;

    @Override
    public Integer call() throws Exception {
        ModelClient ch = target.client();
        ManagedChannel gw = steering.enabled() && steering.needsGateway() ? gateway.channel() : null;
        try {
            var stub = target.model(ch);
            Prompt p = Prompts.of(prompt, chat);
            Iterator<GenerateResponse> it;
            if (gw != null) {
                it = gateway.stub(gw, target.deadlineSeconds).generate(SteeredGenerateRequest.newBuilder().setPrompt(p)
                        .setSampling(sampling.params()).addSteering(SteeringSpec.newBuilder().setIntervention(steering.intervention(stub))).build());
            } else {
                GenerateRequest.Builder req = GenerateRequest.newBuilder().setPrompt(p).setSampling(sampling.params());
                if (steering.enabled()) req.addInterventions(steering.intervention(stub));
                it = stub.generate(req.build());
            }
            while (it.hasNext()) {
                GenerateResponse r = it.next();
                for (ConditionResult c : r.getConditionsList()) {
                    System.err.printf("[condition %s: cosine %.3f]%n", c.getMet() ? "met, steered" : "not met, unsteered", c.getCosine());
                }
                System.out.print(r.getTextDelta());
                System.out.flush();
            }
            System.out.println();
            return 0;
        } finally {
            ch.close();
            if (gw != null) gw.shutdownNow();
        }
    }
}
