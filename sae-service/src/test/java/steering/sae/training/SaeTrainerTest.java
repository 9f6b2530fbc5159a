package steering.sae.training;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.ops.OperationCancelledException;
import steering.sae.core.Architecture;
import steering.sae.core.Normalization;
import steering.sae.core.Sae;
import steering.sae.core.SaeConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Trains on synthetic activations built from a known sparse dictionary (each row = a few of 64 unit directions with
 * random positive weights, plus an offset and noise, scaled far from unit norm), so that success is measurable:
 * the SAE must reconstruct held-out rows and recover the true directions.
 */
class SaeTrainerTest {
    static final int D = 32, TRUE = 64, ACTIVE = 3;

    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    record Synthetic(float[] data, float[] dict) {}

    static Synthetic synthetic(int rows, long seed) {
        Random rnd = new Random(seed);
        Random dictRnd = new Random(1234);
        float[] dict = new float[TRUE * D];
        for (int j = 0; j < TRUE; j++) {
            double s = 0;
            for (int i = 0; i < D; i++) {
                dict[j * D + i] = (float) dictRnd.nextGaussian();
                s += dict[j * D + i] * dict[j * D + i];
            }
            for (int i = 0; i < D; i++) dict[j * D + i] /= (float) Math.sqrt(s);
        }
        float[] data = new float[rows * D];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < D; i++) data[r * D + i] = 40f + (float) (0.02 * rnd.nextGaussian()) * 40f;
            for (int a = 0; a < ACTIVE; a++) {
                int j = rnd.nextInt(TRUE);
                float w = 40f * (0.5f + rnd.nextFloat());
                for (int i = 0; i < D; i++) data[r * D + i] += w * dict[j * D + i];
            }
        }
        return new Synthetic(data, dict);
    }

    static double varianceExplained(Sae sae, float[] x, int rows) {
        float[] y = sae.reconstruct(x, rows).reconstruction();
        double[] mean = new double[D];
        for (int r = 0; r < rows; r++) for (int i = 0; i < D; i++) mean[i] += x[r * D + i] / rows;
        double err = 0, var = 0;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < D; i++) {
                err += Math.pow(x[r * D + i] - y[r * D + i], 2);
                var += Math.pow(x[r * D + i] - mean[i], 2);
            }
        }
        return 1 - err / var;
    }

    @Test
    void topKRecoversASparseDictionary() {
        Synthetic train = synthetic(12_000, 1);
        Synthetic test = synthetic(2_000, 2);
        SaeTrainer.Params p = new SaeTrainer.Params(Architecture.TOPK, 128, 4, 0, 3e-3, 256, 800, 7, 2_000, 1.0 / 32);
        List<double[]> curve = new ArrayList<>();
        SaeTrainer.Result r = SaeTrainer.train(train.data(), 12_000, D, p,
                (step, steps, fvu, l0, dead, tps) -> curve.add(new double[]{step, fvu, l0, dead}), () -> false);
        assertTrue(curve.size() >= 10, "progress is reported");
        assertTrue(curve.get(curve.size() - 1)[1] < curve.get(0)[1] / 3, "training lowers the loss: " + curve.get(0)[1] + " -> " + curve.get(curve.size() - 1)[1]);
        assertTrue(r.tokensPerSecond() > 0);
        SaeConfig cfg = new SaeConfig(Architecture.TOPK, D, 128, 4, true, Normalization.NONE, false, "", "", true, 0, "");
        try (Sae sae = new Sae(cfg, r.weights())) {
            double fve = varianceExplained(sae, test.data(), 2_000);
            assertTrue(fve > 0.9, "held-out variance explained " + fve);
            for (float n : sae.decoderNorms()) assertEquals(1.0, n, 1e-3, "decoder rows stay unit norm");
            // most true directions are matched by some decoder row (cosine > 0.9)
            float[] dec = r.weights().wDec();
            int matched = 0;
            for (int t = 0; t < TRUE; t++) {
                double best = 0;
                for (int j = 0; j < 128; j++) {
                    double c = 0;
                    for (int i = 0; i < D; i++) c += dec[j * D + i] * test.dict()[t * D + i];
                    best = Math.max(best, c);
                }
                if (best > 0.9) matched++;
            }
            assertTrue(matched >= TRUE * 0.7, matched + " of " + TRUE + " true directions recovered");
            float[] f = sae.encode(test.data(), 2_000);
            for (int row = 0; row < 2_000; row++) {
                int active = 0;
                for (int j = 0; j < 128; j++) if (f[row * 128 + j] > 0) active++;
                assertTrue(active <= 4);
            }
        }
    }

    @Test
    void reluWithL1LearnsASparseReconstruction() {
        Synthetic train = synthetic(8_000, 3);
        Synthetic test = synthetic(1_000, 4);
        SaeTrainer.Params p = new SaeTrainer.Params(Architecture.STANDARD, 128, 0, 0.02, 3e-3, 256, 800, 5, 2_000, 0);
        SaeTrainer.Result r = SaeTrainer.train(train.data(), 8_000, D, p, null, () -> false);
        SaeConfig cfg = new SaeConfig(Architecture.STANDARD, D, 128, 0, true, Normalization.NONE, false, "", "", true, 0, "");
        try (Sae sae = new Sae(cfg, r.weights())) {
            double fve = varianceExplained(sae, test.data(), 1_000);
            assertTrue(fve > 0.8, "held-out variance explained " + fve);
            float[] f = sae.encode(test.data(), 1_000);
            int active = 0;
            for (float v : f) if (v > 0) active++;
            assertTrue(active / 1000.0 < 64, "L1 keeps it sparse: L0 " + active / 1000.0);
        }
    }

    @Test
    void cancellationStopsTraining() {
        Synthetic train = synthetic(2_000, 5);
        SaeTrainer.Params p = new SaeTrainer.Params(Architecture.TOPK, 64, 4, 0, 1e-3, 128, 1_000_000, 1, 1000, 1.0 / 32);
        int[] steps = {0};
        assertThrows(OperationCancelledException.class, () -> SaeTrainer.train(train.data(), 2_000, D, p,
                (step, total, fvu, l0, dead, tps) -> steps[0] = (int) step, () -> steps[0] >= 20));
        assertTrue(steps[0] >= 20 && steps[0] < 1000);
    }

    @Test
    void aTrainingStoppedAfterACheckpointResumesToTheSameWeights(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        Synthetic train = synthetic(3_000, 6);
        SaeTrainer.Params p = new SaeTrainer.Params(Architecture.TOPK, 64, 4, 0, 3e-3, 128, 120, 2, 500, 1.0 / 32);
        SaeTrainer.Result straight = SaeTrainer.train(train.data(), 3_000, D, p, null, () -> false);

        TrainingCheckpoint checkpoint = new TrainingCheckpoint(dir, 25);
        int[] steps = {0};
        assertThrows(OperationCancelledException.class, () -> SaeTrainer.train(train.data(), 3_000, D, p,
                (step, total, fvu, l0, dead, tps) -> steps[0] = (int) step, () -> steps[0] >= 60, checkpoint));
        SaeTrainer.Result resumed = SaeTrainer.train(train.data(), 3_000, D, p, null, () -> false, checkpoint);
        assertEquals(50, resumed.resumedFromStep(), "the last checkpoint before the stop (every 25 steps)");
        assertArrayEquals(straight.weights().wDec(), resumed.weights().wDec(), "the resumed run ends where the uninterrupted one does");
        assertArrayEquals(straight.weights().wEnc(), resumed.weights().wEnc());
        assertArrayEquals(straight.weights().bDec(), resumed.weights().bDec());

        SaeTrainer.Params other = new SaeTrainer.Params(Architecture.TOPK, 64, 4, 0, 3e-3, 128, 120, 3, 500, 1.0 / 32);
        assertEquals(0, SaeTrainer.train(train.data(), 3_000, D, other, null, () -> false, checkpoint).resumedFromStep(),
                "a checkpoint of another run (another seed) is not used");
    }
}
