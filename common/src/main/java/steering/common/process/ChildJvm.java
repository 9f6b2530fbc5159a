package steering.common.process;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Java main run in a child JVM with this JVM's class path, for fault tests that need a real process to kill
 * (kill -9 is {@link #kill()}, SIGTERM is {@link #terminate()}). Its output goes to a log file and is watched for
 * the lines the child prints to say where it is.
 */
public final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final List<String> lines = new ArrayList<>();

    private ChildJvm(Process process, Path log) throws IOException {
        this.process = process;
        PrintStream out = new PrintStream(Files.newOutputStream(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND), true,
                StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    out.println(line);
                    synchronized (lines) {
                        lines.add(line);
                        lines.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            } finally {
                out.close();
            }
        }, "child-jvm-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code main} with {@code jvmOptions} (e.g. -Xmx1g) and {@code args}; output appended to {@code log}. */
    public static ChildJvm start(Class<?> main, List<String> jvmOptions, Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules");
        cmd.add("jdk.incubator.vector");
        cmd.addAll(jvmOptions);
        for (String p : new String[]{"steering.shared.dir", "ai.djl.offline"}) {
            if (System.getProperty(p) != null) cmd.add("-D" + p + "=" + System.getProperty(p));
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        return new ChildJvm(pb.start(), log);
    }

    /** Waits for an output line starting with {@code prefix} and returns it; fails when the child dies first. */
    public String awaitLine(String prefix, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int seen = 0;
        synchronized (lines) {
            while (true) {
                for (; seen < lines.size(); seen++) if (lines.get(seen).startsWith(prefix)) return lines.get(seen);
                if (!process.isAlive() && seen == lines.size()) {
                    throw new IllegalStateException("the child process ended (exit " + process.exitValue() + ") before printing " + prefix);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) throw new IllegalStateException("no line starting with " + prefix + " within " + timeout);
                lines.wait(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 200));
            }
        }
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** kill -9: no shutdown hook, no finally block runs in the child. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM: the child's shutdown hooks run. */
    public void terminate() {
        process.destroy();
    }

    /** Waits for the child to end; its exit code, or -1 when it still runs after the timeout. */
    public int waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) kill();
    }

    /** A loopback port free right now, for a child that must come back on the same port after a kill. */
    public static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Reads {@code read} every 50 ms until {@code until} holds; fails with the last value after {@code timeout}. */
    public static <T> T poll(java.util.function.Supplier<T> read, java.util.function.Predicate<T> until, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            last = read.get();
            if (until.test(last)) return last;
            Thread.sleep(50);
        }
        throw new AssertionError("not reached within " + timeout + ": " + last);
    }
}
