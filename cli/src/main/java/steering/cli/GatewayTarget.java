package steering.cli;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.concurrent.TimeUnit;

/** The gateway, for the commands that go through it. */
class GatewayTarget {
    @Option(names = "--gateway", defaultValue = "${env:STEERING_GATEWAY_ADDRESS:-127.0.0.1:50050}",
            description = "gateway address (default: ${DEFAULT-VALUE})")
    String gateway;

    @Option(names = "--api-key", defaultValue = "${env:STEERING_API_KEY:-}", description = "gateway API key (env STEERING_API_KEY)")
    String apiKey;

    /** TLS as Target's --tls-* options (or STEERING_TLS_*) say. */
    ManagedChannel channel() {
        return Target.Tls.channels().channel(gateway, 64 << 20);
    }

    /** A command's body that sends a contrast vector to the gateway. */
    interface ContrastBody {
        int run(Intervention vector, ManagedChannel gateway) throws Exception;
    }

    /** Builds the command's (required) contrast vector through model-service, then runs {@code body} on a gateway channel. */
    int withContrastVector(Target target, ContrastOptions contrast, Object command, ContrastBody body) throws Exception {
        ManagedChannel model = target.channel();
        ManagedChannel gw = channel();
        try {
            return body.run(contrast.required(command, target.model(model)), gw);
        } finally {
            model.shutdownNow();
            gw.shutdownNow();
        }
    }

    SteeringGrpc.SteeringBlockingStub stub(ManagedChannel ch, long deadlineSeconds) {
        SteeringGrpc.SteeringBlockingStub stub = SteeringGrpc.newBlockingStub(ch).withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
        if (apiKey == null || apiKey.isBlank()) return stub;
        io.grpc.Metadata auth = new io.grpc.Metadata();
        auth.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
        return stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(auth));
    }
}
