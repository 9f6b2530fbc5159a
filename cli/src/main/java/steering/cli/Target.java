package steering.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.concurrent.TimeUnit;

/** Options every command shares. */
class Target {
    @Option(names = "--model-service", defaultValue = "${env:STEERING_MODEL_SERVICE_ADDRESS:-127.0.0.1:50051}",
            description = "model-service address (default: ${DEFAULT-VALUE})")
    String modelService;

    @Option(names = "--deadline", defaultValue = "300", description = "seconds before a call gives up (default: ${DEFAULT-VALUE})")
    long deadlineSeconds;

    ManagedChannel channel() {
        return NettyChannelBuilder.forTarget(modelService).usePlaintext().maxInboundMessageSize(64 << 20).build();
    }

    ModelServiceGrpc.ModelServiceBlockingStub model(ManagedChannel ch) {
        return ModelServiceGrpc.newBlockingStub(ch).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }
}
