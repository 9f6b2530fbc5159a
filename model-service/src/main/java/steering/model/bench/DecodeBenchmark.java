package steering.model.bench;

import ai.djl.ndarray.NDManager;
import steering.model.engine.GenerationEngine;
import steering.model.engine.GenerationListener;
import steering.model.engine.GenerationRequest;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.model.runtime.ForwardStep;
import steering.model.runtime.HookPoint;
import steering.model.runtime.Intervention;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Decode and prefill throughput of the serving path (the engine with continuous batching), unsteered and with one
 * ALL-positions intervention, plus resident memory. Prints a table; steered/unsteered ratios come from the same run.
 *
 * <pre>java -cp 'model-service/target/quarkus-app/lib/main/*:model-service/target/quarkus-app/app/*' \
 *     steering.model.bench.DecodeBenchmark MODEL [--tokens 64] [--batches 1,8] [--repeats 3] [--prefill 256]</pre>
 */
public final class DecodeBenchmark {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: DecodeBenchmark MODEL [--tokens N] [--batches 1,8] [--repeats R] [--prefill P]");
            System.exit(2);
        }
        Path modelPath = Path.of(args[0]);
        int tokens = 64, repeats = 3, prefill = 256;
        int[] batches = {1, 8};
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--tokens" -> tokens = Integer.parseInt(args[i + 1]);
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                case "--prefill" -> prefill = Integer.parseInt(args[i + 1]);
                case "--batches" -> batches = java.util.Arrays.stream(args[i + 1].split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.setProperty("ai.djl.offline", "true");
        int maxBatch = java.util.Arrays.stream(batches).max().orElse(8);
        try (NDManager manager = NDManager.newBaseManager()) {
            long t0 = System.nanoTime();
            LoadedModel model = ModelLoader.load(modelPath, manager, 2048);
            System.err.printf(Locale.ROOT, "loaded %s in %.1f s%n", model.config().modelId(), (System.nanoTime() - t0) / 1e9);
            System.gc(); // as the service does: hand the loader's temporary float arrays back before measuring memory
            long[] loaded = memory();
            System.err.printf(Locale.ROOT, "resident after load: %.0f MB%n", loaded[0] / 1e6);
            long weightBytes = weightBytes(model);
            int d = model.config().dModel();
            int layer = model.config().nLayers() / 2;
            float[] v = new float[d];
            Random rnd = new Random(0);
            double norm = 0;
            for (int i = 0; i < d; i++) {
                v[i] = (float) rnd.nextGaussian();
                norm += v[i] * v[i];
            }
            for (int i = 0; i < d; i++) v[i] *= (float) (4.0 / Math.sqrt(norm));
            Intervention steer = new Intervention(new HookPoint(layer, HookPoint.Site.POST), v, 1, 1f, Intervention.Policy.ALL, 0);
            int[] prompt = model.tokenizer().encode("I think", model.tokenizer().addsBosByDefault());

            try (GenerationEngine engine = new GenerationEngine(model, maxBatch, 256)) {
                System.err.println("warm-up ...");
                run(engine, prompt, 8, 1, List.of());
                run(engine, prompt, 8, maxBatch, List.of(steer));
                System.err.printf(Locale.ROOT, "resident after warm-up: %.0f MB%n", memory()[0] / 1e6);
                List<String> rows = new ArrayList<>();
                for (int b : batches) {
                    double plain = 0, steered = 0;
                    // interleave unsteered and steered runs so that machine noise hits both alike; keep the best
                    for (int r = 0; r < repeats; r++) {
                        System.err.printf(Locale.ROOT, "batch %d, repeat %d/%d ...%n", b, r + 1, repeats);
                        plain = Math.max(plain, run(engine, prompt, tokens, b, List.of()));
                        steered = Math.max(steered, run(engine, prompt, tokens, b, List.of(steer)));
                    }
                    System.err.printf(Locale.ROOT, "resident after batch %d: %.0f MB%n", b, memory()[0] / 1e6);
                    rows.add(String.format(Locale.ROOT, "| decode batch %d | %.1f | %.1f | %.3f |", b, plain, steered, steered / plain));
                }
                double prefillRate = prefill(model, prefill, repeats);
                long[] mem = memory();
                System.out.printf(Locale.ROOT, "%n%s: greedy decode of %d new tokens after \"I think\", best of %d; steering = one [%d] vector at %s, ALL positions%n%n",
                        model.config().modelId(), tokens, repeats, d, steer.hook().name());
                System.out.println("| measure | unsteered tokens/s | steered tokens/s | steered / unsteered |");
                System.out.println("|---|---|---|---|");
                rows.forEach(System.out::println);
                System.out.printf(Locale.ROOT, "%nprefill, %d-token prompt, batch 1: %.1f tokens/s%n", prefill, prefillRate);
                System.out.printf(Locale.ROOT, "resident memory: %.0f MB now, %.0f MB peak; float32 weights %.0f MB; target < 2 x weights + 600 MB = %.0f MB%n",
                        mem[0] / 1e6, mem[1] / 1e6, weightBytes / 1e6, (2.0 * weightBytes + 600e6) / 1e6);
            }
            model.close();
        }
    }

    /** Generates {@code tokens} new tokens for {@code batch} concurrent requests; returns generated tokens per second. */
    private static double run(GenerationEngine engine, int[] prompt, int tokens, int batch, List<Intervention> ivs) throws InterruptedException {
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

    private static double prefill(LoadedModel model, int length, int repeats) {
        int[] ids = new int[length];
        Random rnd = new Random(1);
        for (int i = 0; i < length; i++) ids[i] = 100 + rnd.nextInt(model.config().vocabSize() - 200);
        double best = 0;
        for (int r = 0; r <= repeats; r++) {
            long start = System.nanoTime();
            model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(), length - 1, Set.of())), null);
            double rate = length / ((System.nanoTime() - start) / 1e9);
            if (r > 0) best = Math.max(best, rate); // the first is a warm-up
        }
        return best;
    }

    private static long weightBytes(LoadedModel model) {
        var c = model.config();
        long perLayer = (long) c.dModel() * (c.nHeads() + 2L * c.nKvHeads()) * c.headDim() + (long) c.nHeads() * c.headDim() * c.dModel()
                + 3L * c.dModel() * c.ffnDim() + 2L * c.dModel();
        long total = perLayer * c.nLayers() + (long) c.vocabSize() * c.dModel() * (c.tiedEmbeddings() ? 1 : 2) + c.dModel();
        return 4 * total;
    }

    /** VmRSS and VmHWM (peak) from /proc, in bytes. */
    private static long[] memory() throws Exception {
        long rss = 0, peak = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) rss = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            if (line.startsWith("VmHWM:")) peak = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        return new long[]{rss, peak};
    }
}
