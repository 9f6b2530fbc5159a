package steering.model.runtime;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Continuation log-probs of a batch of examples and their gradients with respect to trainable ADD vectors, by
 * autograd through {@link DecoderTransformer}'s forward (no weight gradients: only the vectors collect them).
 *
 * <p>Each example gets its own copy of every trainable vector: vector j is a [E, d] tensor V_j whose row e steers
 * example e only, so one backward of the summed log-probs gives every example's gradient at once (example e's
 * log-prob depends on row e alone). At a hook site the packed addition is M_j V_j, with M_j [N, E] holding
 * scale x multiplier where example e's row r is selected by the vector's position policy: the same positions and
 * the same order (ADDs first, then the other kinds) as in Generate and Score.
 */
public final class VectorGradients {
    private VectorGradients() {}

    /**
     * One example: prompt + continuation tokens, its fixed interventions and its share of the trainable ones.
     *
     * @param trainable ADD interventions with one [d] row, the same vectors for every example (their positions may
     *                  differ, e.g. PROMPT_ONLY ends at each example's own prompt)
     * @param multiplier multiplies every trainable vector's scale for this example
     */
    public record Example(int[] tokens, int promptLength, List<Intervention> fixed, List<Intervention> trainable,
                          float multiplier) {}

    /**
     * @param logprobs  per example, one per continuation token
     * @param gradients [trainable][example] -> d total log-prob of that example / d vector ([d])
     */
    public record Result(float[][] logprobs, float[][][] gradients) {}

    public static Result compute(DecoderTransformer model, List<Example> examples) {
        int d = model.config().dModel();
        int e = examples.size();
        int k = examples.get(0).trainable().size();
        NDManager manager = model.manager();
        List<ForwardStep> steps = new ArrayList<>(e);
        int rows = 0;
        int targets = 0;
        for (Example ex : examples) {
            steps.add(new ForwardStep(ex.tokens(), 0, -1, ex.fixed(), ex.tokens().length, java.util.Set.of()));
            rows += ex.tokens().length;
            targets += ex.tokens().length - ex.promptLength();
        }
        // each continuation token is predicted by the row before it
        long[] predictingRows = new long[targets];
        long[] targetIds = new long[targets];
        int t = 0;
        int rowStart = 0;
        for (Example ex : examples) {
            for (int i = ex.promptLength(); i < ex.tokens().length; i++) {
                predictingRows[t] = rowStart + i - 1;
                targetIds[t++] = ex.tokens()[i];
            }
            rowStart += ex.tokens().length;
        }

        float[][] logprobs = new float[e][];
        float[][][] gradients = new float[k][e][];
        try (NDScope ignored = new NDScope(); GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            NDArray[] vectors = new NDArray[k];
            Map<Integer, NDArray> additions = new HashMap<>();
            for (int j = 0; j < k; j++) {
                Intervention first = examples.get(0).trainable().get(j);
                float[] copies = new float[e * d];
                for (int x = 0; x < e; x++) System.arraycopy(first.vector(), 0, copies, x * d, d);
                vectors[j] = manager.create(copies, new Shape(e, d));
                vectors[j].setRequiresGradient(true);
                NDArray add = manager.create(selection(examples, j, rows), new Shape(rows, e)).matMul(vectors[j]);
                additions.merge(first.hook().ordinal(), add, NDArray::add);
            }
            NDArray lp = model.targetLogprobs(steps, additions, predictingRows, targetIds);
            collector.backward(lp.sum());
            float[] all = lp.toFloatArray();
            int offset = 0;
            for (int x = 0; x < e; x++) {
                int count = examples.get(x).tokens().length - examples.get(x).promptLength();
                logprobs[x] = java.util.Arrays.copyOfRange(all, offset, offset + count);
                offset += count;
            }
            for (int j = 0; j < k; j++) {
                float[] g = vectors[j].getGradient().toFloatArray();
                for (int x = 0; x < e; x++) gradients[j][x] = java.util.Arrays.copyOfRange(g, x * d, (x + 1) * d);
            }
        }
        return new Result(logprobs, gradients);
    }

    /** M_j [rows, E]: scale x multiplier where trainable vector j steers example e's packed row, else 0. */
    private static float[] selection(List<Example> examples, int j, int rows) {
        int e = examples.size();
        float[] m = new float[rows * e];
        int row = 0;
        for (int x = 0; x < e; x++) {
            Example ex = examples.get(x);
            Intervention iv = ex.trainable().get(j);
            float weight = iv.scale() * ex.multiplier();
            for (int pos = 0; pos < ex.tokens().length; pos++) {
                if (iv.rowFor(pos) >= 0) m[(row + pos) * e + x] = weight;
            }
            row += ex.tokens().length;
        }
        return m;
    }
}
