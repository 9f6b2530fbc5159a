package steering.bench;

import steering.model.engine.GenerationEngine;
import steering.model.loader.LoadedModel;
import steering.model.runtime.HookPoint;
import steering.model.runtime.Intervention;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The cost of each intervention kind per decode step (DecodeBenchmark --kinds): greedy decode at each batch size,
 * every stream carrying one intervention of the kind at the middle block's resid_post, ALL positions, against the
 * unsteered decode, the runs interleaved (unsteered and each kind, the order rotated every repeat) so that machine
 * noise hits them alike; best of the repeats.
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
        int d = model.config().dModel();
        HookPoint hook = new HookPoint(model.config().nLayers() / 2, HookPoint.Site.POST);
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

    static void run(DecodeBenchmark.Options o, LoadedModel model, int[] prompt, String dtype,
                    List<Map<String, Object>> figures) throws InterruptedException {
        Map<String, Intervention> kinds = interventions(model, o.kinds());
        int maxBatch = Arrays.stream(o.batches()).max().orElse(8);
        System.out.printf(Locale.ROOT, "%n%s %s: greedy decode of %d new tokens after \"%s\", best of %d, one intervention "
                + "per stream at %s%n", DecodeBenchmark.ENGINE, dtype, o.tokens(), DecodeBenchmark.PROMPT, o.repeats(),
                kinds.values().iterator().next().hook().name());
        System.out.println("| kind | batch | unsteered tokens/s | steered tokens/s | steered / unsteered |");
        System.out.println("|---|---|---|---|---|");
        try (GenerationEngine engine = new GenerationEngine(model, maxBatch, 256)) {
            System.err.println("warm-up ...");
            DecodeBenchmark.decode(engine, prompt, 8, maxBatch, List.of());
            for (Intervention iv : kinds.values()) DecodeBenchmark.decode(engine, prompt, 8, maxBatch, List.of(iv));
            for (int b : o.batches()) {
                double[] plain = new double[o.repeats()];
                Map<String, double[]> steered = new LinkedHashMap<>();
                for (String k : kinds.keySet()) steered.put(k, new double[o.repeats()]);
                List<String> order = new ArrayList<>();
                order.add(null); // the unsteered run
                order.addAll(kinds.keySet());
                for (int r = 0; r < o.repeats(); r++) {
                    System.err.printf(Locale.ROOT, "batch %d, repeat %d/%d ...%n", b, r + 1, o.repeats());
                    // each repeat starts one place further along, so that no kind always runs right after another
                    for (int i = 0; i < order.size(); i++) {
                        String k = order.get((i + r) % order.size());
                        if (k == null) plain[r] = DecodeBenchmark.decode(engine, prompt, o.tokens(), b, List.of());
                        else steered.get(k)[r] = DecodeBenchmark.decode(engine, prompt, o.tokens(), b, List.of(kinds.get(k)));
                    }
                }
                Map<String, Object> base = DecodeBenchmark.rate(dtype, "decode", b, false, plain);
                figures.add(base);
                double p = (double) base.get("tokens_per_s");
                for (var k : steered.entrySet()) {
                    Map<String, Object> f = DecodeBenchmark.rate(dtype, "decode", b, true, k.getValue());
                    f.put("kind", k.getKey());
                    figures.add(f);
                    double s = (double) f.get("tokens_per_s");
                    System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.3f |%n", k.getKey(), b, p, s, s / p);
                }
            }
        }
    }
}
