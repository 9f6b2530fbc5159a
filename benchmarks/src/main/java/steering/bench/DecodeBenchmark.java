package steering.bench;

import ai.djl.ndarray.NDManager;
import steering.model.engine.GenerationEngine;
import steering.model.engine.GenerationListener;
import steering.model.engine.GenerationRequest;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.model.runtime.ComputeSettings;
import steering.model.runtime.ForwardStep;
import steering.common.steer.HookPoint;
import steering.model.runtime.Intervention;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Throughput of model-service's serving path (the engine with continuous batching) in the compute dtype that
 * STEERING_MODEL_DTYPE selects: greedy decode at each batch size and a prefill forward, unsteered and with one
 * ALL-positions vector of norm 4 at the middle block's resid_post, best of R runs; the process's peak RSS.
 * With {@code --interference}: issue 11's latency measure instead ({@link Interference}); with {@code --kinds}: the
 * cost of each intervention kind per decode step ({@link KindCost}).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/lib/*' \
 *     steering.bench.DecodeBenchmark MODEL
 *     [--tokens 64] [--batches 1,8,16] [--repeats 3] [--prefill 256] [--json FILE]
 *     [--interference [--streams 8] [--stream-tokens 200] [--join-after 20] [--long-prompt 1000]]
 *     [--kinds add,ablate,clamp,cap_at_most,cap_at_least,sae_feature | --kinds all]</pre>
 *
 * The JSON file is a list of objects {engine, dtype, measure, batch, steered, tokens_per_s} (scripts/bench/report.py
 * reads it; --kinds adds {kind} to the steered ones), plus {measure: peak_rss_mb, value} (throughput runs), {measure: interference, ..., peak_rss_mb} and, when
 * the dtype cannot be used here, one {measure: not_reachable, reason}.
 */
public final class DecodeBenchmark {
    static final String ENGINE = "model-service";
    static final String PROMPT = "I think";
    static final double STEER_NORM = 4.0;

    record Options(Path model, int tokens, int[] batches, int repeats, int prefill, Path json, boolean interference,
                   int streams, int streamTokens, int joinAfter, int longPrompt, List<String> kinds) {
        static Options parse(String... args) {
            if (args.length < 1 || args[0].startsWith("--")) {
                throw new IllegalArgumentException("usage: DecodeBenchmark MODEL [--tokens N] [--batches 1,8,16] "
                        + "[--repeats R] [--prefill P] [--json FILE] [--interference [--streams 8] [--stream-tokens 200] "
                        + "[--join-after 20] [--long-prompt 1000]] [--kinds all|add,ablate,clamp,cap_at_most,cap_at_least,sae_feature]");
            }
            int tokens = 64, repeats = 3, prefill = 256, streams = 8, streamTokens = 200, joinAfter = 20, longPrompt = 1000;
            int[] batches = {1, 8, 16};
            Path json = null;
            boolean interference = false;
            List<String> kinds = null;
            for (int i = 1; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--interference")) {
                    interference = true;
                    continue;
                }
                if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value");
                String v = args[++i];
                switch (flag) {
                    case "--tokens" -> tokens = Integer.parseInt(v);
                    case "--repeats" -> repeats = Integer.parseInt(v);
                    case "--prefill" -> prefill = Integer.parseInt(v);
                    case "--batches" -> batches = Arrays.stream(v.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
                    case "--json" -> json = Path.of(v);
                    case "--streams" -> streams = Integer.parseInt(v);
                    case "--stream-tokens" -> streamTokens = Integer.parseInt(v);
                    case "--join-after" -> joinAfter = Integer.parseInt(v);
                    case "--long-prompt" -> longPrompt = Integer.parseInt(v);
                    case "--kinds" -> kinds = v.equals("all") ? KindCost.ALL : Arrays.stream(v.split(",")).map(String::trim).toList();
                    default -> throw new IllegalArgumentException("unknown option " + flag);
                }
            }
            if (kinds != null) {
                for (String k : kinds) {
                    if (!KindCost.ALL.contains(k)) throw new IllegalArgumentException("--kinds: unknown kind '" + k + "'; kinds: " + String.join(",", KindCost.ALL));
                }
            }
            return new Options(Path.of(args[0]), tokens, batches, repeats, prefill, json, interference, streams,
                    streamTokens, joinAfter, longPrompt, kinds);
        }
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        System.setProperty("ai.djl.offline", "true");
        List<Map<String, Object>> figures = new ArrayList<>();
        ComputeSettings compute;
        try {
            compute = ComputeSettings.fromEnvironment();
        } catch (IllegalArgumentException e) {
            String requested = System.getenv().getOrDefault("STEERING_MODEL_DTYPE", "auto");
            System.out.println(ENGINE + " " + requested + ": not reachable: " + e.getMessage());
            Map<String, Object> f = figure(requested, "not_reachable");
            f.put("reason", e.getMessage());
            figures.add(f);
            write(o.json(), figures);
            return;
        }
        String dtype = compute.dtypeName();
        Map<String, Object> settings = figure(dtype, "version");
        settings.put("version", compute.describe());
        figures.add(settings);
        try (NDManager manager = NDManager.newBaseManager()) {
            long t0 = System.nanoTime();
            LoadedModel model = ModelLoader.load(o.model(), manager, 2048, compute);
            System.err.printf(Locale.ROOT, "loaded %s (%s) in %.1f s%n", model.config().modelId(), compute.describe(),
                    (System.nanoTime() - t0) / 1e9);
            System.gc(); // as the service does: hand the loader's temporary float arrays back before measuring
            int layer = model.config().nLayers() / 2;
            Intervention steer = new Intervention(new HookPoint(layer, HookPoint.Site.POST),
                    steeringVector(model.config().dModel()), 1, 1f, Intervention.Policy.ALL, 0);
            int[] prompt = model.tokenizer().encode(PROMPT, model.tokenizer().addsBosByDefault());
            if (o.interference()) {
                interference(o, model, prompt, dtype, figures);
                figures.get(figures.size() - 1).put("peak_rss_mb", Memory.peakRssBytes() / 1e6);
            } else if (o.kinds() != null) {
                KindCost.run(o, model, prompt, dtype, figures);
            } else {
                throughput(o, model, prompt, steer, dtype, figures);
                Map<String, Object> rss = figure(dtype, "peak_rss_mb");
                rss.put("value", Memory.peakRssBytes() / 1e6);
                figures.add(rss);
            }
            System.out.printf(Locale.ROOT, "%s %s: peak RSS %.0f MB; steering = one [%d] vector of norm %.0f at %s, "
                    + "ALL positions%n", ENGINE, dtype, Memory.peakRssBytes() / 1e6, model.config().dModel(), STEER_NORM,
                    steer.hook().name());
            model.close();
        }
        write(o.json(), figures);
    }

    private static void throughput(Options o, LoadedModel model, int[] prompt, Intervention steer, String dtype,
                                   List<Map<String, Object>> figures) throws InterruptedException {
        int maxBatch = Arrays.stream(o.batches()).max().orElse(8);
        try (GenerationEngine engine = new GenerationEngine(model, maxBatch, 256)) {
            System.err.println("warm-up ...");
            decode(engine, prompt, 8, 1, List.of());
            decode(engine, prompt, 8, maxBatch, List.of(steer));
            for (int b : o.batches()) {
                double[] plain = new double[o.repeats()], steered = new double[o.repeats()];
                // interleave unsteered and steered runs so that machine noise hits both alike
                for (int r = 0; r < o.repeats(); r++) {
                    System.err.printf(Locale.ROOT, "batch %d, repeat %d/%d ...%n", b, r + 1, o.repeats());
                    plain[r] = decode(engine, prompt, o.tokens(), b, List.of());
                    steered[r] = decode(engine, prompt, o.tokens(), b, List.of(steer));
                }
                figures.add(rate(dtype, "decode", b, false, plain));
                figures.add(rate(dtype, "decode", b, true, steered));
            }
        }
        figures.add(rate(dtype, "prefill", 1, false, prefill(model, o.prefill(), o.repeats(), List.of())));
        figures.add(rate(dtype, "prefill", 1, true, prefill(model, o.prefill(), o.repeats(), List.of(steer))));
        System.out.printf(Locale.ROOT, "%n%s %s: greedy decode of %d new tokens after \"%s\", best of %d; prefill %d tokens%n",
                ENGINE, dtype, o.tokens(), PROMPT, o.repeats(), o.prefill());
        System.out.println("| measure | batch | unsteered tokens/s | steered tokens/s | steered / unsteered |");
        System.out.println("|---|---|---|---|---|");
        List<Map<String, Object>> rates = figures.stream().filter(f -> f.containsKey("tokens_per_s")).toList();
        for (int i = 0; i + 1 < rates.size(); i += 2) {
            Map<String, Object> plain = rates.get(i), steered = rates.get(i + 1);
            double p = (double) plain.get("tokens_per_s"), s = (double) steered.get("tokens_per_s");
            System.out.printf(Locale.ROOT, "| %s | %s | %.1f | %.1f | %.3f |%n", plain.get("measure"), plain.get("batch"), p, s, s / p);
        }
    }

    private static void interference(Options o, LoadedModel model, int[] prompt, String dtype,
                                     List<Map<String, Object>> figures) throws InterruptedException {
        int[] longPrompt = randomIds(model, o.longPrompt(), 2);
        int longTokens = 8;
        try (GenerationEngine engine = new GenerationEngine(model, o.streams() + 1, 256)) {
            System.err.println("warm-up ...");
            decode(engine, longPrompt, 2, 1, List.of());
            decode(engine, prompt, 8, o.streams(), List.of());
            List<Interference.Result> runs = new ArrayList<>();
            for (int r = 0; r < o.repeats(); r++) {
                Interference.Result res = Interference.run(engine, prompt, o.streams(), o.streamTokens(), o.joinAfter(),
                        longPrompt, longTokens);
                System.err.printf(Locale.ROOT, "interference run %d/%d: %s%n", r + 1, o.repeats(), res);
                runs.add(res);
            }
            // the run with the median TTFT stands for all; every run is kept in "runs"
            List<Interference.Result> byTtft = new ArrayList<>(runs);
            byTtft.sort((a, b) -> Double.compare(a.ttftMs(), b.ttftMs()));
            Interference.Result mid = byTtft.get(byTtft.size() / 2);
            Map<String, Object> f = figure(dtype, "interference");
            f.put("streams", o.streams());
            f.put("prompt_tokens", o.longPrompt());
            f.putAll(mid.toMap());
            f.put("runs", runs.stream().map(Interference.Result::toMap).toList());
            figures.add(f);
            System.out.printf(Locale.ROOT, "%n%s %s: %d streams decoding, a %d-token prompt arrives (median of %d runs "
                            + "by TTFT): TTFT %.0f ms; inter-token gap of the streams from its arrival to its first token "
                            + "+ 1 s: p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d gaps); in the second before it arrived p50 %.0f ms, p99 %.0f ms%n",
                    ENGINE, dtype, o.streams(), o.longPrompt(), runs.size(), mid.ttftMs(), mid.gapP50Ms(), mid.gapP99Ms(),
                    mid.gapMaxMs(), mid.gaps(), mid.beforeP50Ms(), mid.beforeP99Ms());
        }
    }

    /** Generates {@code tokens} new tokens for {@code batch} concurrent requests; returns generated tokens per second. */
    static double decode(GenerationEngine engine, int[] prompt, int tokens, int batch, List<Intervention> ivs) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(batch);
        long[] generated = new long[1];
        long start = System.nanoTime();
        for (int i = 0; i < batch; i++) {
            engine.generate(new GenerationRequest(prompt, tokens, 0f, 0, 0f, i, List.of(), true, ivs), new GenerationListener() {
                public void onToken(int tokenId, String textDelta) {}
                public void onFinish(FinishReason reason, String textDelta, int promptTokens, int completionTokens) {
                    synchronized (generated) { generated[0] += completionTokens; }
                    done.countDown();
                }
                public void onError(Throwable error) {
                    error.printStackTrace();
                    done.countDown();
                }
            });
        }
        if (!done.await(30, TimeUnit.MINUTES)) throw new IllegalStateException("benchmark run did not finish");
        return generated[0] / ((System.nanoTime() - start) / 1e9);
    }

    /** One forward over a {@code length}-token prompt (no KV cache kept), after one warm-up; tokens/s of each run. */
    private static double[] prefill(LoadedModel model, int length, int repeats, List<Intervention> ivs) {
        int[] ids = randomIds(model, length, 1);
        double[] rates = new double[repeats];
        for (int r = -1; r < repeats; r++) {
            long start = System.nanoTime();
            model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, ivs, length - 1, Set.of())), null);
            if (r >= 0) rates[r] = length / ((System.nanoTime() - start) / 1e9);
        }
        return rates;
    }

    private static int[] randomIds(LoadedModel model, int length, long seed) {
        Random rnd = new Random(seed);
        int[] ids = new int[length];
        for (int i = 0; i < length; i++) ids[i] = 100 + rnd.nextInt(model.config().vocabSize() - 200);
        return ids;
    }

    /**
     * The benchmark's steering vector: java.util.Random(0) gaussians as floats, scaled to L2 norm 4
     * (scripts/bench/steer_vector.py reproduces it for the Python peers).
     */
    static float[] steeringVector(int d) {
        float[] v = new float[d];
        Random rnd = new Random(0);
        double norm = 0;
        for (int i = 0; i < d; i++) {
            v[i] = (float) rnd.nextGaussian();
            norm += v[i] * v[i];
        }
        for (int i = 0; i < d; i++) v[i] *= (float) (STEER_NORM / Math.sqrt(norm));
        return v;
    }

    static Map<String, Object> figure(String dtype, String measure) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("engine", ENGINE);
        f.put("dtype", dtype);
        f.put("measure", measure);
        return f;
    }

    /** A throughput figure: the best of the runs, every run kept. */
    static Map<String, Object> rate(String dtype, String measure, int batch, boolean steered, double[] runs) {
        Map<String, Object> f = figure(dtype, measure);
        f.put("batch", batch);
        f.put("steered", steered);
        f.put("tokens_per_s", Arrays.stream(runs).max().orElse(Double.NaN));
        f.put("runs", Arrays.stream(runs).boxed().toList());
        return f;
    }

    private static void write(Path json, List<Map<String, Object>> figures) throws Exception {
        if (json == null) return;
        if (json.getParent() != null) Files.createDirectories(json.getParent());
        Files.writeString(json, Json.write(figures));
        System.err.println("wrote " + json);
    }
}
