package steering.cli;

import picocli.CommandLine.Option;
import steering.common.client.ModelClient;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.MeshTls;
import steering.v1.*;

import java.util.concurrent.TimeUnit;

/** Options every command shares. */
class Target {
    @Option(names = "--model-service", defaultValue = "${env:STEERING_MODEL_SERVICE_ADDRESS:-127.0.0.1:50051}",
            description = "model-service address (default: ${DEFAULT-VALUE})")
    String modelService;

    @Option(names = "--deadline", defaultValue = "300", description = "seconds before a call gives up (default: ${DEFAULT-VALUE})")
    long deadlineSeconds;

    /** TLS for every channel of the command (GatewayTarget's too); the options default to STEERING_TLS_*. */
    static final class Tls {
        static volatile String ca = System.getenv(MeshTls.CA);
        static volatile String cert = System.getenv(MeshTls.CERT);
        static volatile String key = System.getenv(MeshTls.KEY);

        static ChannelFactory channels() {
            try {
                return new ChannelFactory(MeshTls.of(ca, cert, key, null), ChannelFactory.w3c());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage()
                        .replace(MeshTls.CA, "--tls-ca / " + MeshTls.CA).replace(MeshTls.CERT, "--tls-cert / " + MeshTls.CERT)
                        .replace(MeshTls.KEY, "--tls-key / " + MeshTls.KEY));
            }
        }
    }

    @Option(names = "--tls-ca", defaultValue = "${env:STEERING_TLS_CA:-}", description = "CA certificate (PEM): use TLS (env STEERING_TLS_CA)")
    void tlsCa(String v) {
        Tls.ca = v;
    }

    @Option(names = "--tls-cert", defaultValue = "${env:STEERING_TLS_CERT:-}", description = "client certificate (PEM) for mTLS (env STEERING_TLS_CERT)")
    void tlsCert(String v) {
        Tls.cert = v;
    }

    @Option(names = "--tls-key", defaultValue = "${env:STEERING_TLS_KEY:-}", description = "its private key (PEM, PKCS#8) (env STEERING_TLS_KEY)")
    void tlsKey(String v) {
        Tls.key = v;
    }

    /** model-service's client on a channel of its own (plaintext or TLS per the options); the caller closes it. */
    ModelClient client() {
        return new ModelClient(modelService, Tls.channels(), deadlineSeconds);
    }

    /** A command's body that needs only model-service. */
    interface ModelBody {
        int run(ModelClient model) throws Exception;
    }

    /** Runs {@code body} with a fresh client of model-service and closes it afterwards; the body's exit code. */
    int withChannel(ModelBody body) throws Exception {
        try (ModelClient model = client()) {
            return body.run(model);
        }
    }

    /** A raw stub with the command's deadline (the commands print model-service's answers as they are). */
    ModelServiceGrpc.ModelServiceBlockingStub model(ModelClient model) {
        return model.blocking().withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }
}
