package steering.gateway.bootstrap;

import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import steering.common.grpc.Errors;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStore;
import steering.gateway.eval.BehaviourJudge;
import steering.gateway.eval.ChatJudge;
import steering.gateway.eval.EmbeddingJudge;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Evaluation judges chosen by configuration, and the registry that runs evaluations as operations. */
@ApplicationScoped
public class GatewayJudges {
    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(GatewayJudges.class);

    @ConfigProperty(name = "steering.gateway.judge.chat.base-url")
    Optional<String> chatBaseUrl;

    @ConfigProperty(name = "steering.gateway.judge.chat.model", defaultValue = "gpt-4o-mini")
    String chatModel;

    @ConfigProperty(name = "steering.gateway.judge.chat.api-key")
    Optional<String> chatApiKey;

    /** where each evaluation's record and checkpoint live, so that evaluations survive a restart */
    @ConfigProperty(name = "steering.gateway.operations-dir")
    String operationsDir;

    private volatile OperationRegistry operations;
    private volatile EmbeddingJudge embedding;

    public synchronized OperationRegistry operations() {
        if (operations == null) {
            String dir = operationsDir.startsWith("~/") ? System.getProperty("user.home") + operationsDir.substring(1) : operationsDir;
            OperationStore store = null;
            try {
                store = new OperationStore(Path.of(dir));
            } catch (RuntimeException e) {
                // evaluations are not worth refusing Generate for: they run, but do not survive a restart
                LOG.warnf("evaluations are kept in memory only: %s", e.getMessage());
            }
            operations = new OperationRegistry(1, 16, Duration.ofHours(24), 100, store);
        }
        return operations;
    }

    public BehaviourJudge judge(steering.v1.BehaviourJudge kind) {
        if (kind == steering.v1.BehaviourJudge.BEHAVIOUR_JUDGE_CHAT) {
            String url = chatBaseUrl.orElseThrow(() -> Errors.invalid("behaviour_judge",
                    "BEHAVIOUR_JUDGE_CHAT needs steering.gateway.judge.chat.base-url (env STEERING_JUDGE_BASE_URL) on the gateway"));
            return new ChatJudge(url, chatModel, chatApiKey.orElse(""));
        }
        EmbeddingJudge e = embedding;
        if (e == null) {
            synchronized (this) {
                if (embedding == null) embedding = new EmbeddingJudge(); // loads the ONNX model once, on first use
                e = embedding;
            }
        }
        return e;
    }

    void onStop(@Observes ShutdownEvent event) {
        if (operations != null) operations.close();
    }
}
