package steering.cli;

import ai.djl.ndarray.NDManager;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.v1.BuildVectorRequest;
import steering.v1.InterventionKind;
import steering.v1.PositionPolicy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** steer's kind, value, position and condition options, run against a real model-service (stories260K) on loopback. */
class KindCommandsTest {
    static final List<AutoCloseable> open = new ArrayList<>();
    static Server server;

    @BeforeAll
    static void start() throws Exception {
        System.setProperty("ai.djl.offline", "true");
        NDManager manager = NDManager.newBaseManager();
        LoadedModel model = ModelLoader.load(Path.of(System.getProperty("steering.shared.dir", "../shared"), "models/stories260K-hf"), manager, 512);
        GenerationEngine engine = new GenerationEngine(model, 4, 64);
        open.addAll(List.of(engine, model, manager));
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new ModelServiceImpl(engine, 512)).build().start();
    }

    @AfterAll
    static void stop() throws Exception {
        server.shutdownNow();
        for (AutoCloseable c : open) c.close();
    }

    record Run(int code, String out, String err) {}

    static Run steer(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add(1, "--model-service=127.0.0.1:" + server.getPort());
        PrintStream out0 = System.out, err0 = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            CommandLine cli = new CommandLine(new Steer());
            cli.setErr(new java.io.PrintWriter(System.err, true));
            int code = cli.execute(all.toArray(String[]::new));
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out0);
            System.setErr(err0);
        }
    }

    static final String[] BASE = {"generate", "--prompt", "Once upon a time", "--max-tokens", "16", "--hook", "blocks.2.hook_resid_pre",
            "--positive", "The dog barked at the ball.", "--negative", "The girl sang a song."};

    static String[] with(String... more) {
        List<String> all = new ArrayList<>(List.of(BASE));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void generateAppliesTheKindAndReportsTheCondition() {
        Run plain = steer("generate", "--prompt", "Once upon a time", "--max-tokens", "16");
        assertEquals(0, plain.code(), plain.err());
        Run clamp = steer(with("--kind", "clamp", "--value", "12"));
        assertEquals(0, clamp.code(), clamp.err());
        assertNotEquals(plain.out(), clamp.out(), "clamping the dog direction to 12 changes the text");
        Run ablate = steer(with("--kind", "ablate", "--positions", "generated-only"));
        assertEquals(0, ablate.code(), ablate.err());
        // a condition that always holds (cosine > -1) steers exactly as the unconditional clamp; one that never holds does not steer
        String[] cond = {"--condition-hook", "blocks.1.hook_resid_post", "--condition-positive", "The dog ran.", "--condition-negative", "The girl sang."};
        List<String> met = new ArrayList<>(List.of(with("--kind", "clamp", "--value", "12", "--condition-threshold", "-1")));
        met.addAll(List.of(cond));
        Run metRun = steer(met.toArray(String[]::new));
        assertEquals(0, metRun.code(), metRun.err());
        assertTrue(metRun.err().contains("condition met"), metRun.err());
        assertEquals(clamp.out(), metRun.out());
        List<String> never = new ArrayList<>(met);
        never.add("--condition-less");
        Run neverRun = steer(never.toArray(String[]::new));
        assertTrue(neverRun.err().contains("condition not met"), neverRun.err());
        assertEquals(plain.out(), neverRun.out());
        // model-service's refusal comes back as an error naming the field
        Run bad = steer(with("--kind", "clamp"));
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("interventions[0].value"), bad.err());
    }

    @Test
    void buildCarriesTheKindDefaultsAndUnknownKindsAreNamed() {
        KindOptions k = new KindOptions();
        new CommandLine(k).parseArgs("--kind", "cap-at-most", "--value", "-2", "--positions", "prompt-only");
        BuildVectorRequest.Builder b = BuildVectorRequest.newBuilder();
        k.apply(b);
        assertEquals(InterventionKind.CAP_AT_MOST, b.getKind());
        assertEquals(-2, b.getValue(), 0);
        assertEquals(PositionPolicy.PROMPT_ONLY, b.getPositions());
        Run unknown = steer(with("--kind", "squash"));
        assertNotEquals(0, unknown.code());
        assertTrue(unknown.err().contains("--kind squash"), unknown.err());
    }
}
