package steering.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "wait", description = "Wait until the service's gRPC health check says SERVING.")
class Wait implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();

    @Override
    public Integer call() throws Exception {
        return target.withChannel(ch -> {
            Steer.waitUntilServing(ch.channel());
            return 0;
        });
    }
}
