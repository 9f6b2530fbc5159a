package steering.common.grpc;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Certificates made by the project's own deploy/tls/make-certs.sh (openssl), so the tests check the script too. */
final class TestCerts {
    private TestCerts() {}

    static Path script() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("deploy/tls/make-certs.sh"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("deploy/tls/make-certs.sh not found above " + Path.of("").toAbsolutePath());
        return p.resolve("deploy/tls/make-certs.sh");
    }

    /** Runs make-certs.sh into {@code dir}; skips the test when bash or openssl is missing. */
    static Path make(Path dir) throws IOException, InterruptedException {
        Assumptions.assumeTrue(onPath("openssl") && onPath("bash"), "openssl and bash are needed to make test certificates");
        Process p = new ProcessBuilder("bash", script().toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("make-certs.sh failed: " + out);
        return dir;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }
}
