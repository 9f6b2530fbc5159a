package steering.model;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where tests find real models: the shared folder beside the repository, and the fetch script's cache. */
public final class TestModels {
    private TestModels() {}

    public static Path shared() {
        String dir = System.getProperty("steering.shared.dir", "../shared");
        return Path.of(dir).toAbsolutePath().normalize();
    }

    public static Path stories260k() {
        Path p = shared().resolve("models/stories260K-hf");
        if (!Files.isDirectory(p)) throw new IllegalStateException("stories260K-hf not found at " + p);
        return p;
    }

    /** SmolLM2-135M-Instruct as cached by scripts/fetch-model.sh; tests that need it skip when it is absent. */
    public static Path smollm2() {
        String cache = System.getenv().getOrDefault("STEERING_CACHE", System.getProperty("user.home") + "/.cache/steering-mesh");
        Path p = Path.of(cache, "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(p), "SmolLM2 not cached: run scripts/fetch-model.sh");
        return p;
    }
}
