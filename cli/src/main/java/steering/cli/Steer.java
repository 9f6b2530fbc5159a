package steering.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** steer: talk to the steering mesh from a terminal. One class per subcommand; shared options in Target, GatewayTarget, SamplingOptions, ContrastOptions. */
@Command(name = "steer", mixinStandardHelpOptions = true, version = "steer 0.1.0",
        description = "Steered generation and steering vectors over gRPC.",
        subcommands = {Info.class, Wait.class, Generate.class, Compare.class, Evaluate.class, Demo.class, Build.class, Vectors.class, Saes.class, SaeCommand.class, ReproduceFgaa.class})
public final class Steer {

    public static void main(String[] args) {
        int code = new CommandLine(new Steer()).setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof StatusRuntimeException s) {
                cmd.getErr().println("error: " + s.getStatus().getCode() + ": " + s.getStatus().getDescription());
                return 2;
            }
            throw ex;
        }).execute(args);
        System.exit(code);
    }

    /** The whole text of a generation. */
    static String generate(ModelServiceGrpc.ModelServiceBlockingStub stub, GenerateRequest req) {
        StringBuilder out = new StringBuilder();
        stub.generate(req).forEachRemaining(r -> out.append(r.getTextDelta()));
        return out.toString();
    }

    /** Blocks until the service's gRPC health check says SERVING (the model may still be loading). */
    static void waitUntilServing(ManagedChannel ch) throws InterruptedException {
        var health = io.grpc.health.v1.HealthGrpc.newBlockingStub(ch);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (true) {
            try {
                var r = health.withDeadlineAfter(5, TimeUnit.SECONDS).check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance());
                if (r.getStatus() == io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING) return;
            } catch (StatusRuntimeException e) {
                // not up yet
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("the service did not become healthy in 5 minutes");
            Thread.sleep(500);
        }
    }

}
