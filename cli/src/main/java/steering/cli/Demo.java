package steering.cli;

import steering.common.client.ModelClient;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "demo", description = "Build a contrast vector (mean activation difference) and print the steered "
        + "generation beside the unsteered one, with the same seed.")
class Demo implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();

    @Option(names = "--prompt", defaultValue = "I think") String prompt;
    @Option(names = "--layer", defaultValue = "-1", description = "block whose resid_pre is steered (default: 1/3 of the depth)") int layer;
    @Option(names = "--scale", defaultValue = "24") double scale;
    @Option(names = "--max-tokens", defaultValue = "40") int maxTokens;
    @Option(names = "--seed", defaultValue = "7") long seed;
    @Option(names = "--samples", defaultValue = "2") int samples;

    @Override
    public Integer call() throws Exception {
        ModelClient ch = target.client();
        try {
            var stub = target.model(ch);
            Steer.waitUntilServing(ch.channel());
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
                String plain = Steer.generate(stub, GenerateRequest.newBuilder().setPrompt(Prompts.of(prompt, false)).setSampling(p).build());
                String steered = Steer.generate(stub, GenerateRequest.newBuilder().setPrompt(Prompts.of(prompt, false)).setSampling(p)
                        .addInterventions(steer).build());
                System.out.printf("--- sample %d (seed %d) ---%n[unsteered] %s%s%n[steered  ] %s%s%n%n", s + 1, seed + s,
                        prompt, oneLine(plain), prompt, oneLine(steered));
            }
            return 0;
        } finally {
            ch.close();
        }
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ');
    }
}
