package steering.cli;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.Iterator;
import java.util.concurrent.Callable;

@Command(name = "generate", description = "Generate text, optionally steered by a contrast vector built on the fly.")
class Generate implements Callable<Integer> {
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
