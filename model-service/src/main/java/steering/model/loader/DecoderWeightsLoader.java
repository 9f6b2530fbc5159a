package steering.model.loader;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import steering.model.runtime.ComputeSettings;
import steering.model.runtime.DecoderOptions;
import steering.model.runtime.DecoderWeights;
import steering.model.runtime.Int8Matrix;
import steering.model.runtime.ModelConfig;
import steering.model.runtime.WeightSource;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Reads a decoder's weights by their Hugging Face names, fuses what a block multiplies together (q|k|v, gate|up),
 * folds constants in (the attention scale, Gemma's norm offset) and converts the projection weights to the compute
 * dtype on the compute device, once, so that the forward only computes.
 */
final class DecoderWeightsLoader {
    private final ModelConfig cfg;
    private final DecoderOptions opt;
    private final WeightSource weights;
    private final NDManager manager;
    private final DataType computeType;
    private final boolean int8;

    private DecoderWeightsLoader(ModelConfig cfg, WeightSource weights, NDManager manager, ComputeSettings compute) {
        this.cfg = cfg;
        this.opt = cfg.options();
        this.weights = weights;
        this.manager = manager;
        this.computeType = compute.dtype();
        this.int8 = compute.int8Decode();
    }

    static DecoderWeights load(ModelConfig cfg, WeightSource weights, NDManager parent, ComputeSettings compute)
            throws IOException {
        NDManager manager = parent.newSubManager(compute.device());
        try {
            return new DecoderWeightsLoader(cfg, weights, manager, compute).load();
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private DecoderWeights load() throws IOException {
        int d = cfg.dModel();
        int hd = cfg.headDim();
        int qDim = cfg.nHeads() * hd;
        int kvDim = cfg.nKvHeads() * hd;
        float[] embeddingRows = read("model.embed_tokens.weight", cfg.vocabSize(), d);
        NDArray embedding = matrix(embeddingRows, cfg.vocabSize(), d);
        NDArray outputHead = embedding;
        Int8Matrix outputHead8;
        if (!cfg.tiedEmbeddings() && weights.has("lm_head.weight")) {
            float[] head = read("lm_head.weight", cfg.vocabSize(), d);
            outputHead = matrix(head, cfg.vocabSize(), d);
            outputHead8 = int8(head, cfg.vocabSize(), d);
        } else {
            outputHead8 = int8(embeddingRows, cfg.vocabSize(), d);
        }
        NDArray finalNorm = manager.create(normWeights("model.norm.weight", d));
        // The attention scale 1/sqrt(query_pre_attn_scalar or head_dim) is folded into the query: into W_q (RoPE is
        // linear, so scaling q before or after it is the same), or, with QK-norm, into q_norm's weight, because the
        // norm would undo a scale applied before it.
        float qScale = (float) (1.0 / Math.sqrt(opt.queryPreAttnScalar() > 0 ? opt.queryPreAttnScalar() : hd));
        float wqScale = opt.qkNorm() ? 1f : qScale;
        DecoderWeights.Layer[] layers = new DecoderWeights.Layer[cfg.nLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            float[] q = scale(read(p + "self_attn.q_proj.weight", qDim, d), wqScale);
            float[] k = read(p + "self_attn.k_proj.weight", kvDim, d);
            float[] v = read(p + "self_attn.v_proj.weight", kvDim, d);
            float[] qkv = concat(q, k, v);
            NDArray wQkv = matrix(qkv, qDim + 2 * kvDim, d);
            NDArray bQkv = null;
            if (cfg.attentionBias()) {
                bQkv = manager.create(concat(scale(weights.read(p + "self_attn.q_proj.bias"), wqScale),
                        weights.read(p + "self_attn.k_proj.bias"), weights.read(p + "self_attn.v_proj.bias")));
            }
            NDArray qkNorm = null;
            if (opt.qkNorm()) {
                // one [heads + kv_heads, head_dim] weight so q and k are normed together, as they are roped together
                float[] qn = scale(normWeights(p + "self_attn.q_norm.weight", hd), qScale);
                float[] kn = normWeights(p + "self_attn.k_norm.weight", hd);
                float[] both = new float[(cfg.nHeads() + cfg.nKvHeads()) * hd];
                for (int h = 0; h < cfg.nHeads() + cfg.nKvHeads(); h++) {
                    System.arraycopy(h < cfg.nHeads() ? qn : kn, 0, both, h * hd, hd);
                }
                qkNorm = manager.create(both, new Shape(cfg.nHeads() + cfg.nKvHeads(), hd));
            }
            float[] out = read(p + "self_attn.o_proj.weight", d, qDim);
            NDArray wOut = matrix(out, d, qDim);
            float[] gateUp = concat(read(p + "mlp.gate_proj.weight", cfg.ffnDim(), d),
                    read(p + "mlp.up_proj.weight", cfg.ffnDim(), d));
            NDArray wGateUp = matrix(gateUp, 2 * cfg.ffnDim(), d);
            float[] down = read(p + "mlp.down_proj.weight", d, cfg.ffnDim());
            NDArray wDown = matrix(down, d, cfg.ffnDim());
            NDArray attnNorm = manager.create(normWeights(p + "input_layernorm.weight", d));
            NDArray postAttnNorm = null;
            NDArray postMlpNorm = null;
            NDArray mlpNorm;
            if (opt.sandwichNorms()) {
                // Gemma names: post_attention_layernorm norms the attention output, the MLP has its own pre-norm
                postAttnNorm = manager.create(normWeights(p + "post_attention_layernorm.weight", d));
                mlpNorm = manager.create(normWeights(p + "pre_feedforward_layernorm.weight", d));
                postMlpNorm = manager.create(normWeights(p + "post_feedforward_layernorm.weight", d));
            } else {
                // Llama names: post_attention_layernorm is the MLP's pre-norm
                mlpNorm = manager.create(normWeights(p + "post_attention_layernorm.weight", d));
            }
            layers[i] = new DecoderWeights.Layer(attnNorm, wQkv, bQkv, qkNorm, wOut, postAttnNorm, mlpNorm, wGateUp,
                    wDown, postMlpNorm, opt.isSliding(i), int8(qkv, qDim + 2 * kvDim, d), int8(out, d, qDim),
                    int8(gateUp, 2 * cfg.ffnDim(), d), int8(down, d, cfg.ffnDim()));
        }
        return new DecoderWeights(manager, computeType, embedding, outputHead, outputHead8, finalNorm, layers);
    }

    /** The 8-bit copy for single-row steps, or null when that path is off or the rows are not whole blocks. */
    private Int8Matrix int8(float[] rowMajor, int rows, int cols) {
        return int8 && Int8Matrix.fits(cols) ? Int8Matrix.quantize(rowMajor, rows, cols) : null;
    }

    /**
     * A row-major [rows, cols] matrix on the device, in the compute dtype, in memory PyTorch owns. It is copied in
     * pieces of about 16 MB: DJL's create(float[]) stages data in a direct buffer that a CPU tensor keeps for its
     * life, so weights made whole would pin the model in direct memory (capped at -Xmx: a 1 GB heap could not load
     * Gemma 3 270M in float32) and need it twice at a time for the largest tensor.
     */
    private NDArray matrix(float[] rowMajor, int rows, int cols) {
        NDArray target = manager.zeros(new Shape(rows, cols), computeType);
        int step = Math.max(1, (4 << 20) / cols);
        for (int r0 = 0; r0 < rows; r0 += step) {
            int r1 = Math.min(rows, r0 + step);
            FloatBuffer piece = FloatBuffer.wrap(rowMajor, r0 * cols, (r1 - r0) * cols).slice();
            try (NDArray part = manager.create(piece, new Shape(r1 - r0, cols));
                 NDArray typed = computeType == DataType.FLOAT32 ? part.duplicate() : part.toType(computeType, false)) {
                target.set(new NDIndex("{}:{}", r0, r1), typed);
            }
        }
        return target;
    }

    private float[] read(String name, long... shape) throws IOException {
        float[] data = weights.read(name);
        long n = 1;
        for (long s : shape) n *= s;
        if (data.length != n) {
            throw new IOException("weight " + name + " has " + data.length + " values, expected shape "
                    + Arrays.toString(shape));
        }
        return data;
    }

    /** A norm weight with the family's offset added (Gemma stores w and scales by 1 + w, in float32 as here). */
    private float[] normWeights(String name, int dim) throws IOException {
        float[] data = read(name, dim);
        float offset = opt.normWeightOffset();
        if (offset != 0f) for (int i = 0; i < data.length; i++) data[i] = offset + data[i];
        return data;
    }

    private static float[] scale(float[] a, float s) {
        if (s == 1f) return a;
        for (int i = 0; i < a.length; i++) a[i] *= s;
        return a;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] out = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
