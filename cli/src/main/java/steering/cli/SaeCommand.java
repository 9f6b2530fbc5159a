package steering.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code steer sae ...}: hands its arguments unparsed to SaeCli, whose options scripts/sae/train-sae.sh passes through. */
@Command(name = "sae", description = "Train, evaluate and inspect SAEs on sae-service: steer sae train|evaluate|list|stats|search [options] (docs/sae-service.md).")
class SaeCommand implements Callable<Integer> {
    @Unmatched List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        return SaeCli.run(args.toArray(String[]::new));
    }
}
