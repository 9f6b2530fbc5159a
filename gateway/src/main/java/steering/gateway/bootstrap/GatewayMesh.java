package steering.gateway.bootstrap;

import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import steering.common.grpc.ChannelFactory;
import steering.gateway.mesh.MeshClients;

/** The gateway's channels to the other services, from configuration. */
@ApplicationScoped
public class GatewayMesh {
    @ConfigProperty(name = "steering.model-service.address", defaultValue = "127.0.0.1:50051")
    String modelService;

    @ConfigProperty(name = "steering.vector-service.address")
    java.util.Optional<String> vectorService;

    @ConfigProperty(name = "steering.sae-service.address")
    java.util.Optional<String> saeService;

    @ConfigProperty(name = "steering.gateway.deadline-seconds", defaultValue = "600")
    long deadlineSeconds;

    @Inject
    ChannelFactory channels;

    private volatile MeshClients clients;

    public MeshClients clients() {
        MeshClients c = clients;
        if (c == null) {
            synchronized (this) {
                if (clients == null) clients = new MeshClients(channels, modelService, vectorService.orElse(null), saeService.orElse(null));
                c = clients;
            }
        }
        return c;
    }

    public long deadlineSeconds() {
        return deadlineSeconds;
    }

    void onStop(@Observes ShutdownEvent event) throws InterruptedException {
        if (clients != null) clients.close();
    }
}
