package steering.model.bootstrap;

import io.quarkus.grpc.GrpcService;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import steering.model.grpc.ModelServiceImpl;

/** Registers {@link ModelServiceImpl} with Quarkus' gRPC server; the service logic itself is framework-free. */
@GrpcService
public class QuarkusModelService extends ModelServiceImpl {
    @Inject
    public QuarkusModelService(ModelEngineProducer host,
                               @ConfigProperty(name = "steering.model.max-request-tokens", defaultValue = "2048") int maxRequestTokens,
                               // UTF-8 bytes of one text field, checked before tokenizing; 0 = 32 x max-request-tokens
                               @ConfigProperty(name = "steering.model.max-text-bytes", defaultValue = "0") int maxTextBytes) {
        super(host::engine, maxRequestTokens, maxTextBytes);
    }
}
