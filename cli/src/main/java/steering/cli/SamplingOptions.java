package steering.cli;

import picocli.CommandLine;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.List;

class SamplingOptions {
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
