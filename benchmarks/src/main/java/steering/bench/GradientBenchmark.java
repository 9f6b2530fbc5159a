package steering.bench;

import ai.djl.ndarray.NDManager;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;
import steering.model.runtime.ComputeSettings;
import steering.common.steer.HookPoint;
import steering.model.runtime.Intervention;
import steering.model.runtime.VectorGradients;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * What model-service's ScoreGradients costs: wall time of one forward + backward for E examples of T tokens each
 * (half prompt, half continuation) with one trainable [d] vector at the middle block's resid_post, and the memory
 * the autograd graph adds (the process's peak RSS after the calls minus the peak after loading). The compute dtype
 * comes from STEERING_MODEL_DTYPE as in the service.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/lib/*' \
 *     steering.bench.GradientBenchmark MODEL [--examples 16] [--tokens 64] [--repeats 3]</pre>
 */
public final class GradientBenchmark {
    public static void main(String[] args) throws Exception {
        Path modelPath = Path.of(args[0]);
        int examples = 16;
        int tokens = 64;
        int repeats = 3;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--examples" -> examples = Integer.parseInt(args[i + 1]);
                case "--tokens" -> tokens = Integer.parseInt(args[i + 1]);
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.setProperty("ai.djl.offline", "true");
        ComputeSettings compute = ComputeSettings.fromEnvironment();
        try (NDManager manager = NDManager.newBaseManager(compute.device())) {
            LoadedModel model = ModelLoader.load(modelPath, manager, 2048, compute);
            System.gc();
            long loadedPeak = Memory.peakRssBytes();
            int d = model.config().dModel();
            Random rnd = new Random(0);
            float[] v = new float[d];
            for (int i = 0; i < d; i++) v[i] = (float) rnd.nextGaussian() * 0.1f;
            HookPoint hook = new HookPoint(model.config().nLayers() / 2, HookPoint.Site.POST);
            Intervention trainable = new Intervention(hook, v, 1, 1f, Intervention.Policy.ALL, 0);
            List<VectorGradients.Example> batch = new ArrayList<>();
            for (int e = 0; e < examples; e++) {
                int[] ids = new int[tokens];
                for (int t = 0; t < tokens; t++) ids[t] = 100 + rnd.nextInt(Math.min(5000, model.config().vocabSize() - 100));
                batch.add(new VectorGradients.Example(ids, tokens / 2, List.of(), List.of(trainable), e % 2 == 0 ? 1f : -1f));
            }
            long best = Long.MAX_VALUE;
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                VectorGradients.compute(model.transformer(), batch);
                best = Math.min(best, System.nanoTime() - t0);
            }
            long peak = Memory.peakRssBytes();
            // the same tokens through Score's forward (no graph, logits of every continuation row)
            List<steering.model.runtime.ForwardStep> steps = new ArrayList<>();
            for (VectorGradients.Example ex : batch) {
                steps.add(new steering.model.runtime.ForwardStep(ex.tokens(), 0, -1, List.of(trainable), ex.promptLength() - 1, java.util.Set.of()));
            }
            long forward = Long.MAX_VALUE;
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                model.transformer().forward(steps, null);
                forward = Math.min(forward, System.nanoTime() - t0);
            }
            System.out.printf(Locale.ROOT, "forward alone (Score): %.2f s; forward + backward %.1fx that%n", forward / 1e9,
                    (double) best / forward);
            System.out.printf(Locale.ROOT, "%s (%s): ScoreGradients %d examples x %d tokens, one trainable [%d] vector at %s:"
                            + " best of %d %.2f s (%.0f tokens/s); peak RSS %.0f MB after loading, %.0f MB after (+%.0f MB)%n",
                    model.config().modelId(), compute.describe(), examples, tokens, d, hook.name(), repeats, best / 1e9,
                    examples * tokens / (best / 1e9), loadedPeak / 1e6, peak / 1e6, (peak - loadedPeak) / 1e6);
            model.close();
        }
    }
}
