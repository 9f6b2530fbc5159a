package steering.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import steering.v1.*;

import java.util.concurrent.Callable;

@Command(name = "info", description = "Show the served model.")
class Info implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();

    @Override
    public Integer call() throws Exception {
        return target.withChannel(ch -> {
            ModelInfo info = target.model(ch).getModelInfo(GetModelInfoRequest.getDefaultInstance());
            System.out.printf("%s  %s  layers=%d d_model=%d heads=%d/%d vocab=%d context=%d weights=%s/%s chat=%s%n",
                    info.getModelId(), info.getArchitecture(), info.getNLayers(), info.getDModel(), info.getNHeads(),
                    info.getNKvHeads(), info.getVocabSize(), info.getContextLength(), info.getSourceFormat(),
                    info.getWeightsType(), info.getHasChatTemplate());
            return 0;
        });
    }
}
