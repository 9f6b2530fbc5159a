package steering.bench;

import steering.model.engine.GenerationEngine;
import steering.model.loader.LoadedModel;
import steering.model.runtime.ForwardStep;
import steering.common.steer.HookPoint;
import steering.model.runtime.Intervention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The cost of each intervention kind per decode step (DecodeBenchmark --kinds): greedy decode at each batch size,
 * every stream carrying one intervention of the kind at the middle block's resid_post, ALL positions, against the
 * unsteered decode, the runs interleaved (unsteered and each kind, the order rotated every repeat) so that machine
 * noise hits them alike; best of the repeats, in tokens per wall-clock second and per CPU-second of the process.
 */
final class KindCost {
    private KindCost() {}

    static final List<String> ALL = List.of("add", "ablate", "clamp", "cap_at_most", "cap_at_least", "sae_feature");

    /**
     * One intervention per kind on the benchmark's direction u (DecodeBenchmark.steeringVector, unit): ADD adds
     * 4u; ABLATE projects u out; CLAMP sets h.u to 4; the caps hold it at most / at least 0; SAE_FEATURE is a
     * feature with encoder and decoder u, bias 0, JumpReLU threshold 0.5, set to 4.
     */
    static Map<String, Intervention> interventions(LoadedModel model, List<String> kinds) {
        return interventions(model, kinds, new HookPoint(model.config().nLayers() / 2, HookPoint.Site.POST));
    }

    static Map<String, Intervention> interventions(LoadedModel model, List<String> kinds, HookPoint hook) {
        int d = model.config().dModel();
        float[] add = DecodeBenchmark.steeringVector(d);
        float[] u = new float[d];
        for (int i = 0; i < d; i++) u[i] = (float) (add[i] / DecodeBenchmark.STEER_NORM);
        Map<String, Intervention> out = new LinkedHashMap<>();
        for (String kind : kinds) {
            out.put(kind, switch (kind) {
                case "add" -> new Intervention(hook, add, 1, 1f, Intervention.Policy.ALL, 0);
                case "ablate" -> Intervention.projection(Intervention.Kind.ABLATE, hook, u, 1, 0f, Intervention.Policy.ALL, 0);
                case "clamp" -> Intervention.projection(Intervention.Kind.CLAMP, hook, u, 1, 4f, Intervention.Policy.ALL, 0);
                case "cap_at_most" -> Intervention.projection(Intervention.Kind.CAP_AT_MOST, hook, u, 1, 0f, Intervention.Policy.ALL, 0);
                case "cap_at_least" -> Intervention.projection(Intervention.Kind.CAP_AT_LEAST, hook, u, 1, 0f, Intervention.Policy.ALL, 0);
                case "sae_feature" -> Intervention.saeFeature(hook, u, 0, u, null, 0.5, 4f, Intervention.Policy.ALL, 0);
                default -> throw new IllegalArgumentException("unknown kind '" + kind + "'; kinds: " + String.join(",", ALL));
            });
        }
        return out;
    }

    /** The figure with its tokens per CPU-second (the best run, every run kept). */
    private static Map<String, Object> withCpu(Map<String, Object> f, double[] perCpu) {
        f.put("tokens_per_cpu_s", Arrays.stream(perCpu).max().orElse(Double.NaN));
        f.put("cpu_runs", Arrays.stream(perCpu).boxed().toList());
        return f;
    }

    /**
     * CPU time of the whole process (every PyTorch thread): what the work costs, whatever else the shared machine
     * runs meanwhile (wall-clock rates there move by +-20% from run to run).
     */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /**
     * Native ops (tensors created) that one intervention per sequence adds to a forward of {@code batch} one-token
     * sequences, counted in block 0 with the interventions at its resid_post (steering.countOps): the part of a
     * kind's cost that no machine noise moves. ADD is one packed add for the whole batch; the other kinds work on
     * each sequence's rows.
     */
    static Map<String, Integer> opsPerForward(LoadedModel model, List<String> kinds, int batch) {
        String before = System.getProperty("steering.countOps");
        System.setProperty("steering.countOps", "true");
        try {
            Map<String, Intervention> at0 = interventions(model, kinds, new HookPoint(0, HookPoint.Site.POST));
            int plain = blockOps(model, batch, null);
            Map<String, Integer> out = new LinkedHashMap<>();
            for (var k : at0.entrySet()) out.put(k.getKey(), blockOps(model, batch, k.getValue()) - plain);
            return out;
        } finally {
            if (before == null) System.clearProperty("steering.countOps");
            else System.setProperty("steering.countOps", before);
        }
    }

    private static int blockOps(LoadedModel model, int batch, Intervention iv) {
        List<ForwardStep> steps = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            steps.add(new ForwardStep(new int[]{100 + b}, 0, -1, iv == null ? List.of() : List.of(iv), 0, Set.of()));
        }
        model.transformer().forward(steps, null);
        return model.transformer().lastBlockOps();
    }

    static void run(DecodeBenchmark.Options o, LoadedModel model, int[] prompt, String dtype,
                    List<Map<String, Object>> figures) throws InterruptedException {
        System.out.println("| kind | " + String.join(" | ", Arrays.stream(o.batches()).mapToObj(b -> "ops added, batch " + b).toList()) + " |");
        System.out.println("|---|" + "---|".repeat(o.batches().length));
        Map<Integer, Map<String, Integer>> ops = new LinkedHashMap<>();
        for (int b : o.batches()) ops.put(b, opsPerForward(model, o.kinds(), b));
        for (String k : o.kinds()) {
            StringBuilder row = new StringBuilder("| " + k + " |");
            for (int b : o.batches()) {
                row.append(' ').append(ops.get(b).get(k)).append(" |");
                Map<String, Object> f = DecodeBenchmark.figure(dtype, "ops_added");
                f.put("kind", k);
                f.put("batch", b);
                f.put("value", ops.get(b).get(k));
                figures.add(f);
            }
            System.out.println(row);
        }
        Map<String, Intervention> kinds = interventions(model, o.kinds());
        int maxBatch = Arrays.stream(o.batches()).max().orElse(8);
        System.out.printf(Locale.ROOT, "%n%s %s: greedy decode of %d new tokens after \"%s\", best of %d, one intervention "
                + "per stream at %s%n", DecodeBenchmark.ENGINE, dtype, o.tokens(), DecodeBenchmark.PROMPT, o.repeats(),
                kinds.values().iterator().next().hook().name());
        System.out.println("| kind | batch | unsteered tokens/s | steered tokens/s | steered / unsteered "
                + "| unsteered tokens per CPU-s | steered tokens per CPU-s | steered / unsteered (CPU) |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        try (GenerationEngine engine = new GenerationEngine(model, maxBatch, 256)) {
            System.err.println("warm-up ...");
            DecodeBenchmark.decode(engine, prompt, 8, maxBatch, List.of());
            for (Intervention iv : kinds.values()) DecodeBenchmark.decode(engine, prompt, 8, maxBatch, List.of(iv));
            for (int b : o.batches()) {
                double[] plain = new double[o.repeats()], plainCpu = new double[o.repeats()];
                Map<String, double[]> steered = new LinkedHashMap<>(), steeredCpu = new LinkedHashMap<>();
                for (String k : kinds.keySet()) {
                    steered.put(k, new double[o.repeats()]);
                    steeredCpu.put(k, new double[o.repeats()]);
                }
                List<String> order = new ArrayList<>();
                order.add(null); // the unsteered run
                order.addAll(kinds.keySet());
                for (int r = 0; r < o.repeats(); r++) {
                    System.err.printf(Locale.ROOT, "batch %d, repeat %d/%d ...%n", b, r + 1, o.repeats());
                    // each repeat starts one place further along, so that no kind always runs right after another
                    for (int i = 0; i < order.size(); i++) {
                        String k = order.get((i + r) % order.size());
                        long cpu0 = processCpuNanos();
                        double rate = DecodeBenchmark.decode(engine, prompt, o.tokens(), b, k == null ? List.of() : List.of(kinds.get(k)));
                        double perCpu = (double) b * o.tokens() / ((processCpuNanos() - cpu0) / 1e9);
                        (k == null ? plain : steered.get(k))[r] = rate;
                        (k == null ? plainCpu : steeredCpu.get(k))[r] = perCpu;
                    }
                }
                Map<String, Object> base = withCpu(DecodeBenchmark.rate(dtype, "decode", b, false, plain), plainCpu);
                figures.add(base);
                double p = (double) base.get("tokens_per_s"), pc = (double) base.get("tokens_per_cpu_s");
                for (var k : steered.entrySet()) {
                    Map<String, Object> f = withCpu(DecodeBenchmark.rate(dtype, "decode", b, true, k.getValue()), steeredCpu.get(k.getKey()));
                    f.put("kind", k.getKey());
                    figures.add(f);
                    double s = (double) f.get("tokens_per_s"), sc = (double) f.get("tokens_per_cpu_s");
                    System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.3f | %.1f | %.1f | %.3f |%n",
                            k.getKey(), b, p, s, s / p, pc, sc, sc / pc);
                }
            }
        }
    }
}
