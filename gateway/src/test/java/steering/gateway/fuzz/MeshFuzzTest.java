package steering.gateway.fuzz;

import com.google.protobuf.Descriptors.Descriptor;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.process.ChildJvm;
import steering.v1.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The mesh against a generated corpus (FuzzCorpus, fixed seed) over every RPC of model-service, sae-service,
 * vector-service and the gateway, served in a child JVM on stories260K. Asserts: no process dies; no call ends
 * UNKNOWN or INTERNAL (nor does an operation it starts); every INVALID_ARGUMENT names a field of the request it
 * answers (bytes that are no message excepted: they are named as a whole); and afterwards the golden greedy decode
 * comes back unchanged from model-service and through the gateway. 300 cases by default;
 * {@code -Dsteering.fuzz.cases=10000} (scripts/fuzz.sh) for the nightly size. The counts go to target/fuzz-report.txt.
 */
class MeshFuzzTest {
    private static final long SEED = 16;
    private static final long DEADLINE_SECONDS = 20;

    record Target(String service, ManagedChannel channel, MethodDescriptor<?, ?> method, Descriptor input, boolean startsOperation) {}

    @Test
    void noRequestCrashesAServiceOrEndsUnknownOrInternal(@TempDir Path dir) throws Exception {
        int cases = Integer.getInteger("steering.fuzz.cases", 300);
        String[] args = {dir.toString(), port(), port(), port(), port()};
        ChildJvm child = ChildJvm.start(FuzzMeshProcess.class, List.of("-Xmx2g"), dir.resolve("mesh.log"), args);
        List<ManagedChannel> channels = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            channels.add(NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(args[i])).usePlaintext()
                    .maxInboundMessageSize(64 << 20).build());
        }
        List<String> violations = new ArrayList<>();
        Map<String, Integer> codes = new TreeMap<>(), modes = new TreeMap<>(), methodsSeen = new TreeMap<>();
        long t0 = System.nanoTime();
        try {
            child.awaitLine("READY", Duration.ofMinutes(3));
            VectorServiceGrpc.newBlockingStub(channels.get(2)).withDeadlineAfter(60, TimeUnit.SECONDS).buildVector(BuildVectorRequest.newBuilder()
                    .setVectorId("fuzz-vec").setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                            .addPositive("The dog barked.").addNegative("The girl sang.")).build());
            List<Target> targets = new ArrayList<>();
            targets.addAll(targets("model-service", channels.get(0), ModelServiceGrpc.getServiceDescriptor()));
            targets.addAll(targets("sae-service", channels.get(1), SaeServiceGrpc.getServiceDescriptor()));
            targets.addAll(targets("vector-service", channels.get(2), VectorServiceGrpc.getServiceDescriptor()));
            targets.addAll(targets("gateway", channels.get(3), SteeringGrpc.getServiceDescriptor()));

            FuzzCorpus corpus = new FuzzCorpus(SEED);
            List<String[]> operations = new ArrayList<>(); // service channel index, operation id
            for (int i = 0; i < cases; i++) {
                Target t = targets.get(i % targets.size());
                FuzzCorpus.Made made = corpus.make(t.input(), corpus.pickMode());
                FuzzCall.Outcome out = FuzzCall.call(t.channel(), t.method(), made.bytes(), DEADLINE_SECONDS);
                String where = "case " + i + " " + t.method().getFullMethodName() + " (" + made.mode() + ", " + made.bytes().length + " bytes)";
                codes.merge(out.status().getCode().name(), 1, Integer::sum);
                modes.merge(made.mode().name(), 1, Integer::sum);
                methodsSeen.merge(t.method().getFullMethodName(), 1, Integer::sum);
                String problem = problem(t, made, out.status());
                if (problem != null) violations.add(where + ": " + problem + "; request " + hex(made.bytes()));
                if (out.status().isOk() && t.startsOperation() && out.first() != null) {
                    String id = Operation.parseFrom(out.first()).getId();
                    operations.add(new String[]{t.service(), id});
                    call(targets, t.service(), "CancelOperation", CancelOperationRequest.newBuilder().setId(id).build().toByteArray());
                }
                if (!child.isAlive()) {
                    violations.add(where + ": the mesh process died (exit " + child.waitFor(Duration.ZERO) + ")");
                    break;
                }
            }
            for (String[] op : operations) {
                FuzzCall.Outcome got = call(targets, op[0], "GetOperation", GetOperationRequest.newBuilder().setId(op[1]).build().toByteArray());
                if (!got.status().isOk()) continue;
                Operation o = Operation.parseFrom(got.first());
                int code = o.getError().getCode();
                if (code == Status.Code.UNKNOWN.value() || code == Status.Code.INTERNAL.value()) {
                    violations.add("operation " + o.getKind() + " " + o.getId() + " failed " + Status.fromCodeValue(code).getCode() + ": " + o.getError().getMessage());
                }
            }
            assertTrue(child.isAlive(), "the mesh survived the corpus");
            int[] golden = Arrays.stream(Files.readString(Path.of(System.getProperty("steering.shared.dir", "../shared"),
                    "models/stories260K-hf/golden-greedy-200.ids")).trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
            SamplingParams greedy = SamplingParams.newBuilder().setMaxTokens(60).setIgnoreEos(true).build();
            Prompt bos = Prompt.newBuilder().setTokens(TokenIds.newBuilder().addIds(1)).build();
            List<Integer> direct = ids(ModelServiceGrpc.newBlockingStub(channels.get(0)).withDeadlineAfter(60, TimeUnit.SECONDS)
                    .generate(GenerateRequest.newBuilder().setPrompt(bos).setSampling(greedy).build()));
            List<Integer> viaGateway = ids(SteeringGrpc.newBlockingStub(channels.get(3)).withDeadlineAfter(60, TimeUnit.SECONDS)
                    .generate(SteeredGenerateRequest.newBuilder().setPrompt(bos).setSampling(greedy).build()));
            List<Integer> expected = Arrays.stream(golden, 1, 61).boxed().toList();
            assertEquals(expected, direct, "model-service still gives the golden decode");
            assertEquals(expected, viaGateway, "the gateway still gives the golden decode");
        } finally {
            String report = String.format("fuzz: %d cases over %d RPCs in %.0f s, seed %d%ncodes: %s%nmodes: %s%nviolations: %d%n%s%n",
                    codes.values().stream().mapToInt(Integer::intValue).sum(), methodsSeen.size(), (System.nanoTime() - t0) / 1e9, SEED,
                    codes, modes, violations.size(), String.join("\n", violations));
            System.out.println(report);
            Files.writeString(Path.of("target", "fuzz-report.txt"), report);
            channels.forEach(ManagedChannel::shutdownNow);
            child.close();
        }
        assertEquals(List.of(), violations.subList(0, Math.min(20, violations.size())), violations.size() + " violations");
    }

    /** What is wrong with a call's end, or null. */
    static String problem(Target t, FuzzCorpus.Made made, Status status) {
        String d = status.getDescription();
        switch (status.getCode()) {
            case UNKNOWN, INTERNAL:
                return status.getCode() + ": " + d;
            case INVALID_ARGUMENT:
                if (made.mode() == FuzzCorpus.Mode.RANDOM_BYTES && d != null && d.startsWith("the request is not a valid")) return null;
                return FieldPaths.named(t.input(), d) == null ? "INVALID_ARGUMENT names no field of " + t.input().getName() + ": " + d : null;
            default:
                return null;
        }
    }

    static List<Target> targets(String service, ManagedChannel ch, ServiceDescriptor sd) {
        List<Target> out = new ArrayList<>();
        for (MethodDescriptor<?, ?> m : sd.getMethods()) {
            var proto = ((ProtoMethodDescriptorSupplier) m.getSchemaDescriptor()).getMethodDescriptor();
            boolean starts = proto.getOutputType().getFullName().equals("steering.v1.Operation") && proto.getName().startsWith("Start");
            out.add(new Target(service, ch, m, proto.getInputType(), starts));
        }
        return out;
    }

    static FuzzCall.Outcome call(List<Target> targets, String service, String method, byte[] request) throws Exception {
        for (Target t : targets) {
            if (t.service().equals(service) && t.method().getBareMethodName().equals(method)) {
                return FuzzCall.call(t.channel(), t.method(), request, DEADLINE_SECONDS);
            }
        }
        throw new IllegalArgumentException(service + " has no " + method);
    }

    static List<Integer> ids(java.util.Iterator<GenerateResponse> it) {
        List<Integer> out = new ArrayList<>();
        while (it.hasNext()) out.addAll(it.next().getTokenIdsList());
        return out;
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b, 0, Math.min(b.length, 120)) + (b.length > 120 ? "..." : "");
    }

    static String port() throws java.io.IOException {
        return Integer.toString(ChildJvm.freePort());
    }
}
