package steering.gateway.eval;

import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;

import java.util.List;

/**
 * Behaviour as the cosine between a sample's and the criterion's sentence embeddings (all-MiniLM-L6-v2, run
 * in-process on ONNX Runtime, no network), clipped to [0, 1]. Cheap and deterministic; coarser than an LLM judge.
 */
public final class EmbeddingJudge implements BehaviourJudge {
    private final AllMiniLmL6V2EmbeddingModel model = new AllMiniLmL6V2EmbeddingModel();

    @Override
    public double[] score(List<String> samples, String criterion) {
        float[] c = model.embed(criterion).content().vector();
        double[] out = new double[samples.size()];
        for (int i = 0; i < out.length; i++) {
            String s = samples.get(i).isBlank() ? " " : samples.get(i);
            out[i] = Math.max(0, cosine(model.embed(s).content().vector(), c));
        }
        return out;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * (double) b[i];
            na += a[i] * (double) a[i];
            nb += b[i] * (double) b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    @Override
    public String name() {
        return "embedding:all-MiniLM-L6-v2";
    }
}
