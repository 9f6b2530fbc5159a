package steering.cli;

import steering.common.client.SaeClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

@Command(name = "saes", description = "List sae-service's SAEs with their training figures.")
class Saes implements Callable<Integer> {
    @Option(names = "--sae-service", defaultValue = "${env:STEERING_SAE_SERVICE_ADDRESS:-127.0.0.1:50052}") String saeService;

    @Override
    public Integer call() {
        try (SaeClient sae = new SaeClient(saeService, Target.Tls.channels(), 60)) {
            ListSaesResponse r = sae.blocking().withDeadlineAfter(60, TimeUnit.SECONDS).listSaes(ListSaesRequest.getDefaultInstance());
            for (SaeInfo s : r.getSaesList()) {
                System.out.printf("%s  %s at %s, d_sae %d, k %d%s%n", s.getId(), s.getModelId(), s.getHook().getName(), s.getDSae(), s.getK(),
                        s.hasTrainingMetrics() ? String.format(", variance explained %.3f", s.getTrainingMetrics().getVarianceExplained()) : "");
            }
            if (r.getSaesCount() == 0) System.err.println("no SAEs");
            return 0;
        }
    }
}
