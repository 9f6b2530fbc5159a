package steering.model.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama-family decoder (Llama 2/3, SmolLM, Mistral, Qwen2) in DJL NDArray operations: RMSNorm, rotary position
 * embeddings, grouped-query attention over a KV cache, SwiGLU MLP, tied or separate output head.
 *
 * <p>A forward step takes several sequences at once. Their new tokens are packed into one [N, d] matrix for every
 * per-token operation (norms, projections, MLP); only attention looks at each sequence's own cache. When every
 * sequence brings one token (decode), attention too runs as one batched op over the first B cache slots.
 *
 * <p>Hook points are plain Java between ops: at each residual site the step adds the packed [N, d] sum of the
 * interventions that apply there, and copies out the rows that read hooks asked for.
 */
public final class LlamaTransformer implements AutoCloseable {
    private final ModelConfig cfg;
    private final NDManager manager;
    private final NDArray embedding;    // [V, d]
    private final NDArray outputHeadT;  // [d, V]: a transposed view of the embedding when tied
    private final NDArray finalNorm;    // [d]
    private final Layer[] layers;
    private final NDArray ropeCos;      // [context, head_dim]
    private final NDArray ropeSin;      // [context, head_dim]
    private final NDArray rotateHalf;   // [head_dim, head_dim]: x @ R == cat(-x2, x1)

    /** Weights are stored transposed ([in, out]) so that every projection is one x.matMul(W). */
    private record Layer(NDArray attnNorm, NDArray wQkv, NDArray bQkv, NDArray wOut, NDArray mlpNorm,
                         NDArray wGateUp, NDArray wDown) {}

    public LlamaTransformer(ModelConfig cfg, WeightSource weights, NDManager parent) throws IOException {
        this.cfg = cfg;
        this.manager = parent.newSubManager();
        int d = cfg.dModel();
        int qDim = cfg.nHeads() * cfg.headDim();
        int kvDim = cfg.nKvHeads() * cfg.headDim();
        embedding = load(weights, "model.embed_tokens.weight", cfg.vocabSize(), d);
        if (!cfg.tiedEmbeddings() && weights.has("lm_head.weight")) {
            outputHeadT = loadTransposed(weights, "lm_head.weight", cfg.vocabSize(), d);
        } else {
            outputHeadT = embedding.transpose();
        }
        finalNorm = load(weights, "model.norm.weight", d);
        // 1/sqrt(head_dim) folded into W_q: RoPE is linear, so scaling q before or after it is the same
        float qScale = (float) (1.0 / Math.sqrt(cfg.headDim()));
        layers = new Layer[cfg.nLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            float[] q = scale(weights.read(p + "self_attn.q_proj.weight"), qScale);
            float[] k = weights.read(p + "self_attn.k_proj.weight");
            float[] v = weights.read(p + "self_attn.v_proj.weight");
            NDArray wQkv = transposed(concat(q, k, v), qDim + 2 * kvDim, d);
            NDArray bQkv = null;
            if (cfg.attentionBias()) {
                bQkv = manager.create(concat(scale(weights.read(p + "self_attn.q_proj.bias"), qScale),
                        weights.read(p + "self_attn.k_proj.bias"), weights.read(p + "self_attn.v_proj.bias")));
            }
            NDArray wOut = loadTransposed(weights, p + "self_attn.o_proj.weight", d, qDim);
            float[] gate = weights.read(p + "mlp.gate_proj.weight");
            float[] up = weights.read(p + "mlp.up_proj.weight");
            NDArray wGateUp = transposed(concat(gate, up), 2 * cfg.ffnDim(), d);
            NDArray wDown = loadTransposed(weights, p + "mlp.down_proj.weight", d, cfg.ffnDim());
            layers[i] = new Layer(load(weights, p + "input_layernorm.weight", d), wQkv, bQkv, wOut,
                    load(weights, p + "post_attention_layernorm.weight", d), wGateUp, wDown);
        }
        float[][] rope = Rope.tables(cfg);
        ropeCos = manager.create(rope[0], new Shape(cfg.contextLength(), cfg.headDim()));
        ropeSin = manager.create(rope[1], new Shape(cfg.contextLength(), cfg.headDim()));
        rotateHalf = manager.create(Rope.rotateHalfMatrix(cfg.headDim()), new Shape(cfg.headDim(), cfg.headDim()));
    }

    public ModelConfig config() {
        return cfg;
    }

    public NDManager manager() {
        return manager;
    }

    /** Runs one batched step; writes the new tokens' keys and values into {@code cache} for steps with a slot. */
    public List<ForwardResult> forward(List<ForwardStep> steps, KvCache cache) {
        int n = 0;
        boolean decode = true;
        int maxEnd = 0;
        for (ForwardStep s : steps) {
            n += s.length();
            decode &= s.length() == 1 && s.slot() >= 0;
            maxEnd = Math.max(maxEnd, s.startPosition() + s.length());
            if (s.slot() >= 0 && cache == null) throw new IllegalArgumentException("a step with a slot needs a cache");
        }
        if (maxEnd > cfg.contextLength()) {
            throw new IllegalArgumentException("positions up to " + maxEnd + " exceed the context length " + cfg.contextLength());
        }
        if (cache != null) cache.ensureCapacity(maxEnd);
        decode &= slotsArePrefix(steps);

        try (NDScope ignored = new NDScope()) {
            long[] ids = new long[n];
            long[] positions = new long[n];
            int[] rowStart = new int[steps.size()];
            int r = 0;
            for (int b = 0; b < steps.size(); b++) {
                ForwardStep s = steps.get(b);
                rowStart[b] = r;
                for (int t = 0; t < s.length(); t++) {
                    ids[r] = s.tokens()[t];
                    positions[r++] = s.startPosition() + t;
                }
            }
            NDManager tmp = manager;
            NDArray posIdx = tmp.create(positions);
            NDArray cos = ropeCos.get(new NDIndex("{}", posIdx)).reshape(n, 1, cfg.headDim());
            NDArray sin = ropeSin.get(new NDIndex("{}", posIdx)).reshape(n, 1, cfg.headDim());
            NDArray x = embedding.get(new NDIndex("{}", tmp.create(ids)));

            Map<Integer, NDArray> additions = Steering.additions(steps, n, cfg.dModel(), tmp);
            Map<Integer, List<Integer>> captureSites = captureSites(steps);
            List<Map<HookPoint, float[]>> captured = new ArrayList<>();
            for (int b = 0; b < steps.size(); b++) captured.add(new HashMap<>());

            Step step = new Step(steps, rowStart, n, cos, sin, decode, cache, additions, captureSites, captured);
            for (int l = 0; l < layers.length; l++) {
                // each layer's intermediates are freed when the layer ends, not when the step ends: a long prefill
                // would otherwise hold every layer's activations at once (hundreds of MB for 256 tokens)
                NDArray input = x;
                try (NDScope layerScope = new NDScope()) {
                    x = block(l, input, step);
                    NDScope.unregister(x);
                }
                if (l > 0) input.close(); // the previous block's output, kept alive by hand (block 0's is the embedding)
            }
            NDScope.register(x); // back under the step's scope
            return logits(x, steps, rowStart, captured);
        }
    }

    /** What every block of one forward step shares. */
    private record Step(List<ForwardStep> steps, int[] rowStart, int n, NDArray cos, NDArray sin, boolean decode,
                        KvCache cache, Map<Integer, NDArray> additions, Map<Integer, List<Integer>> captureSites,
                        List<Map<HookPoint, float[]>> captured) {}

    /** Block l: attention then MLP, each added to the residual stream, with the hook sites between them. */
    private NDArray block(int l, NDArray x, Step s) {
        Layer w = layers[l];
        int n = s.n();
        int qDim = cfg.nHeads() * cfg.headDim();
        int kvDim = cfg.nKvHeads() * cfg.headDim();
        x = hook(x, new HookPoint(l, HookPoint.Site.PRE), s);
        NDArray qkv = rmsNorm(x, w.attnNorm()).matMul(w.wQkv());
        if (w.bQkv() != null) qkv = qkv.add(w.bQkv());
        NDArray qk = rope(qkv.get(":, :{}", qDim + kvDim).reshape(n, cfg.nHeads() + cfg.nKvHeads(), cfg.headDim()), s.cos(), s.sin());
        NDArray q = qk.get(":, :{}, :", cfg.nHeads());
        NDArray k = qk.get(":, {}:, :", cfg.nHeads());
        NDArray v = qkv.get(":, {}:", qDim + kvDim).reshape(n, cfg.nKvHeads(), cfg.headDim());
        NDArray attn = s.decode()
                ? attendDecode(l, q, k, v, s.steps(), s.cache())
                : attendPerSequence(l, q, k, v, s.steps(), s.rowStart(), s.cache());
        x = x.add(attn.matMul(w.wOut()));
        x = hook(x, new HookPoint(l, HookPoint.Site.MID), s);
        NDArray gateUp = rmsNorm(x, w.mlpNorm()).matMul(w.wGateUp());
        NDArray gate = gateUp.get(":, :{}", cfg.ffnDim());
        NDArray up = gateUp.get(":, {}:", cfg.ffnDim());
        x = x.add(gate.mul(Activation.sigmoid(gate)).mul(up).matMul(w.wDown()));  // SwiGLU
        return hook(x, new HookPoint(l, HookPoint.Site.POST), s);
    }

    private static boolean slotsArePrefix(List<ForwardStep> steps) {
        for (int b = 0; b < steps.size(); b++) {
            if (steps.get(b).slot() != b) return false;
        }
        return true;
    }

    /** A hook site: add the batch's interventions for this site, then copy out what read hooks asked for. */
    private NDArray hook(NDArray x, HookPoint site, Step s) {
        NDArray add = s.additions().get(site.ordinal());
        if (add != null) x = x.add(add);
        List<Integer> readers = s.captureSites().get(site.ordinal());
        if (readers != null) {
            for (int b : readers) {
                int start = s.rowStart()[b];
                s.captured().get(b).put(site, x.get("{}:{}", start, start + s.steps().get(b).length()).toFloatArray());
            }
        }
        return x;
    }

    private static Map<Integer, List<Integer>> captureSites(List<ForwardStep> steps) {
        Map<Integer, List<Integer>> sites = new HashMap<>();
        for (int b = 0; b < steps.size(); b++) {
            for (HookPoint h : steps.get(b).captures()) sites.computeIfAbsent(h.ordinal(), k -> new ArrayList<>()).add(b);
        }
        return sites;
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray meanSquare = x.square().mean(new int[]{-1}, true);
        return x.mul(meanSquare.add(cfg.rmsNormEps()).pow(-0.5f)).mul(weight);
    }

    /** Rotate-half RoPE on [N, heads, head_dim]: x * cos + rotate_half(x) * sin. */
    private NDArray rope(NDArray x, NDArray cos, NDArray sin) {
        return x.mul(cos).add(x.matMul(rotateHalf).mul(sin));
    }

    /** Decode: one token per sequence, sequences in cache slots 0..B-1, one batched attention over the slots. */
    private NDArray attendDecode(int layer, NDArray q, NDArray k, NDArray v, List<ForwardStep> steps, KvCache cache) {
        int b = steps.size();
        NDArray keys = cache.keys(layer);
        NDArray values = cache.values(layer);
        int maxLen = 0;
        boolean ragged = false;
        long[] slots = new long[b];
        long[] positions = new long[b];
        for (int i = 0; i < b; i++) {
            int pos = steps.get(i).startPosition();
            slots[i] = i;
            positions[i] = pos;
            if (i > 0 && pos + 1 != maxLen) ragged = true;
            maxLen = Math.max(maxLen, pos + 1);
        }
        // one advanced-index write per tensor puts every sequence's new key at its own position
        NDIndex at = new NDIndex("{}, :, {}", manager.create(slots), manager.create(positions));
        keys.set(at, k);
        values.set(at, v);
        NDArray kc = keys.get(":{}, :, :{}, :", b, maxLen);                 // [B, K, T, hd]
        NDArray vc = values.get(":{}, :, :{}, :", b, maxLen);
        NDArray qg = q.reshape(b, cfg.nKvHeads(), cfg.queryGroupSize(), cfg.headDim()); // [B, K, g, hd]
        NDArray scores = qg.matMul(kc.transpose(0, 1, 3, 2));                 // [B, K, g, T]
        if (ragged) {
            float[] mask = new float[b * maxLen];
            for (int i = 0; i < b; i++) {
                for (int t = steps.get(i).startPosition() + 1; t < maxLen; t++) mask[i * maxLen + t] = Float.NEGATIVE_INFINITY;
            }
            scores = scores.add(manager.create(mask, new Shape(b, 1, 1, maxLen)));
        }
        return scores.softmax(-1).matMul(vc).reshape(b, cfg.nHeads() * cfg.headDim());
    }

    /** Prefill and mixed steps: causal attention of each sequence over its cached prefix plus its new tokens. */
    private NDArray attendPerSequence(int layer, NDArray q, NDArray k, NDArray v, List<ForwardStep> steps,
                                      int[] rowStart, KvCache cache) {
        NDList outputs = new NDList(steps.size());
        for (int b = 0; b < steps.size(); b++) {
            ForwardStep s = steps.get(b);
            int len = s.length();
            int start = s.startPosition();
            int total = start + len;
            NDArray kb = k.get("{}:{}", rowStart[b], rowStart[b] + len).transpose(1, 0, 2); // [K, n, hd]
            NDArray vb = v.get("{}:{}", rowStart[b], rowStart[b] + len).transpose(1, 0, 2);
            if (s.slot() >= 0) {
                NDIndex into = new NDIndex("{}, :, {}:{}, :", s.slot(), start, total);
                cache.keys(layer).set(into, kb);
                cache.values(layer).set(into, vb);
                NDIndex all = new NDIndex("{}, :, :{}, :", s.slot(), total);
                kb = cache.keys(layer).get(all);
                vb = cache.values(layer).get(all);
            } else if (start != 0) {
                throw new IllegalArgumentException("a step without a cache slot must start at position 0");
            }
            NDArray qb = q.get("{}:{}", rowStart[b], rowStart[b] + len)
                    .reshape(len, cfg.nKvHeads(), cfg.queryGroupSize(), cfg.headDim())
                    .transpose(1, 2, 0, 3);                                        // [K, g, n, hd]
            NDArray scores = qb.matMul(kb.transpose(0, 2, 1).expandDims(1));       // [K, g, n, T]
            if (len > 1) scores = scores.add(causalMask(start, len, total));
            NDArray out = scores.softmax(-1).matMul(vb.expandDims(1));             // [K, g, n, hd]
            outputs.add(out.transpose(2, 0, 1, 3).reshape(len, cfg.nHeads() * cfg.headDim()));
        }
        return outputs.size() == 1 ? outputs.get(0) : NDArrays.concat(outputs, 0);
    }

    private NDArray causalMask(int start, int len, int total) {
        float[] mask = new float[len * total];
        for (int i = 0; i < len; i++) {
            for (int t = start + i + 1; t < total; t++) mask[i * total + t] = Float.NEGATIVE_INFINITY;
        }
        return manager.create(mask, new Shape(len, total));
    }

    private List<ForwardResult> logits(NDArray x, List<ForwardStep> steps, int[] rowStart,
                                       List<Map<HookPoint, float[]>> captured) {
        List<Long> rows = new ArrayList<>();
        for (int b = 0; b < steps.size(); b++) {
            ForwardStep s = steps.get(b);
            for (int t = s.logitsFrom(); t < s.length(); t++) rows.add((long) rowStart[b] + t);
        }
        float[] all = new float[0];
        if (!rows.isEmpty()) {
            long[] idx = rows.stream().mapToLong(Long::longValue).toArray();
            NDArray picked = idx.length == x.getShape().get(0) ? x : x.get(new NDIndex("{}", manager.create(idx)));
            all = rmsNorm(picked, finalNorm).matMul(outputHeadT).toFloatArray();
        }
        List<ForwardResult> results = new ArrayList<>(steps.size());
        int vocab = cfg.vocabSize();
        int offset = 0;
        for (int b = 0; b < steps.size(); b++) {
            ForwardStep s = steps.get(b);
            int count = Math.max(0, s.length() - s.logitsFrom());
            float[] mine = new float[count * vocab];
            System.arraycopy(all, offset * vocab, mine, 0, count * vocab);
            offset += count;
            results.add(new ForwardResult(mine, count, captured.get(b)));
        }
        return results;
    }

    private NDArray load(WeightSource w, String name, long... shape) throws IOException {
        float[] data = w.read(name);
        check(name, data, shape);
        return manager.create(data, new Shape(shape));
    }

    private NDArray loadTransposed(WeightSource w, String name, int rows, int cols) throws IOException {
        float[] data = w.read(name);
        check(name, data, rows, cols);
        return transposed(data, rows, cols);
    }

    /** A contiguous [cols, rows] copy of a row-major [rows, cols] matrix. */
    private NDArray transposed(float[] rowMajor, int rows, int cols) {
        float[] t = new float[rowMajor.length];
        for (int i = 0; i < rows; i++) {
            int base = i * cols;
            for (int j = 0; j < cols; j++) t[j * rows + i] = rowMajor[base + j];
        }
        return manager.create(t, new Shape(cols, rows));
    }

    private static void check(String name, float[] data, long... shape) throws IOException {
        long n = 1;
        for (long s : shape) n *= s;
        if (data.length != n) {
            throw new IOException("weight " + name + " has " + data.length + " values, expected shape "
                    + java.util.Arrays.toString(shape));
        }
    }

    private static float[] scale(float[] a, float s) {
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

    @Override
    public void close() {
        manager.close();
    }
}
