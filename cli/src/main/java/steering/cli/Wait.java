package steering.cli;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import steering.v1.*;

import java.util.concurrent.Callable;

@Command(name = "wait", description = "Wait until the service's gRPC health check says SERVING.")
class Wait implements Callable<Integer> {
    @CommandLine.Mixin Target target = new Target();

    @Override
    public Integer call() throws Exception {
        ManagedChannel ch = target.channel();
        try {
            Steer.waitUntilServing(ch);
            return 0;
        } finally {
            ch.shutdownNow();
        }
    }
}
