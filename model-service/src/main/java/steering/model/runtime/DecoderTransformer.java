package steering.model.runtime;

import steering.common.steer.HookPoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A pre-norm decoder in DJL NDArray operations, for the Llama family (Llama 2/3, SmolLM, Mistral, Qwen2) and the
 * Gemma family (Gemma 2, Gemma 3): RMSNorm, rotary position embeddings, grouped-query attention over a KV cache, a
 * gated MLP, tied or separate output head. What Gemma changes is switched on by {@link DecoderOptions}: norms that
 * scale by (1 + w), sandwich norms around attention and MLP, GeGLU, scaled embeddings, soft-capped attention scores
 * and logits, sliding-window attention on local layers with their own RoPE base, and QK-norm.
 *
 * <p>A forward step takes several sequences at once. Their new tokens are packed into one [N, d] matrix for every
 * per-token operation (norms, projections, MLP); only attention looks at each sequence's own cache. When every
 * sequence brings one token (decode), attention too runs as one batched op over the first B cache slots.
 *
 * <p>Hook points are plain Java between ops: at each residual site the step adds the packed [N, d] sum of the
 * interventions that apply there, and copies out the rows that read hooks asked for. For Gemma's sandwich norms the
 * residual stream is what TransformerLens calls it: resid_mid is the residual after the normed attention output was
 * added, resid_post after the normed MLP output was added.
 */
public final class DecoderTransformer implements AutoCloseable {
    private static final int GLOBAL = 0;
    private static final int LOCAL = 1;

    private final ModelConfig cfg;
    private final DecoderOptions opt;
    private final DecoderWeights w;
    private final NDManager manager;
    private final NDArray[] ropeCos;    // per kind (GLOBAL, LOCAL): [context, head_dim]; LOCAL null when shared
    private final NDArray[] ropeSin;
    private final NDArray rotateHalf;   // [head_dim, head_dim]: x @ R == cat(-x2, x1)
    private final boolean anySliding;
    private final boolean lowPrecision; // projections in float16: inputs cast down, outputs back to float32
    private final NDArray rmsEps;       // [1]: a tensor, so that no norm creates its scalar again
    // slices of the fused products, parsed once (NDIndex parses its string at every construction)
    private final NDIndex qkCols, vCols, qHeads, kHeads, gateCols, upCols;
    private volatile int lastBlockOps = -1;

    /** @param weights fused, converted weights (see steering.model.loader.DecoderWeightsLoader); closed with this */
    public DecoderTransformer(ModelConfig cfg, DecoderWeights weights) {
        this.cfg = cfg;
        this.opt = cfg.options();
        this.w = weights;
        this.manager = weights.manager();
        this.lowPrecision = weights.computeType() != DataType.FLOAT32;
        int hd = cfg.headDim();
        ropeCos = new NDArray[2];
        ropeSin = new NDArray[2];
        Shape table = new Shape(cfg.contextLength(), hd);
        float[][] global = Rope.tables(hd, cfg.contextLength(), cfg.ropeTheta(), cfg.ropeScaling(), opt.ropeLinearFactor());
        ropeCos[GLOBAL] = manager.create(global[0], table);
        ropeSin[GLOBAL] = manager.create(global[1], table);
        anySliding = opt.slidingLayers().contains(true);
        boolean ownLocalRope = anySliding && ((opt.ropeLocalTheta() > 0 && opt.ropeLocalTheta() != cfg.ropeTheta())
                || opt.ropeLinearFactor() != 1f);
        if (ownLocalRope) {
            double localTheta = opt.ropeLocalTheta() > 0 ? opt.ropeLocalTheta() : cfg.ropeTheta();
            float[][] local = Rope.tables(hd, cfg.contextLength(), localTheta, cfg.ropeScaling(), 1.0);
            ropeCos[LOCAL] = manager.create(local[0], table);
            ropeSin[LOCAL] = manager.create(local[1], table);
        }
        rotateHalf = manager.create(Rope.rotateHalfMatrix(hd), new Shape(hd, hd));
        rmsEps = manager.create(new float[]{cfg.rmsNormEps()});
        int qDim = cfg.nHeads() * hd;
        int kvDim = cfg.nKvHeads() * hd;
        qkCols = new NDIndex(":, :{}", qDim + kvDim);
        vCols = new NDIndex(":, {}:", qDim + kvDim);
        qHeads = new NDIndex(":, :{}, :", cfg.nHeads());
        kHeads = new NDIndex(":, {}:, :", cfg.nHeads());
        gateCols = new NDIndex(":, :{}", cfg.ffnDim());
        upCols = new NDIndex(":, {}:", cfg.ffnDim());
    }

    /** The dtype of the projection weights (float32 or float16). */
    public DataType computeType() {
        return w.computeType();
    }

    /** Bytes of the weights this forward holds (tensors on the device plus the 8-bit copies on the Java heap). */
    public long weightBytes() {
        return w.bytes() + w.int8Bytes();
    }

    /**
     * Native ops (tensors created) by block 0 in the last forward, when the system property steering.countOps is
     * true; -1 otherwise. The benchmark reports it per decode step.
     */
    public int lastBlockOps() {
        return lastBlockOps;
    }

    public ModelConfig config() {
        return cfg;
    }

    public NDManager manager() {
        return manager;
    }

    /**
     * Runs one batched step; writes the new tokens' keys and values into {@code cache} for steps with a slot.
     *
     * <p>Steps may mix decode and prefill: the leading steps that bring one token each from cache slots 0..B-1 (the
     * running decodes) attend in one batched op, the others (prompt chunks, one-shots) each over their own sequence.
     * Every per-token op (norms, projections, MLP) runs once over all rows, so decode streams ride along with a
     * prefill chunk at the cost of a few more rows in each product.
     */
    public List<ForwardResult> forward(List<ForwardStep> steps, KvCache cache) {
        reserve(steps, cache); // outside the step's scope: a grown cache must outlive it
        try (NDScope ignored = new NDScope()) {
            Pass pass = pass(steps, cache, Map.of());
            return logits(pass.out(), steps, pass.rowStart(), pass.captured());
        }
    }

    /**
     * Log-probs of target tokens as a tensor autograd can differentiate (ScoreGradients): the forward of
     * {@link #forward} without a cache, with {@code trainable} added at each hook site together with the steps' own
     * ADDs. A trainable addition is a packed [N, d] tensor built from vectors that collect gradients, so one backward
     * of the result gives d log p / d vector. The caller opens the NDScope (and the gradient collector) the result
     * lives in; steps must have no cache slot.
     *
     * @param rows    for each target, the packed row whose logits predict it (the row of the token before it)
     * @param targets the target token of each row
     * @return [rows.length] float32: log p(target | everything before it)
     */
    public NDArray targetLogprobs(List<ForwardStep> steps, Map<Integer, NDArray> trainable, long[] rows, long[] targets) {
        for (ForwardStep s : steps) {
            if (s.slot() >= 0) throw new IllegalArgumentException("target log-probs take one-shot steps (no cache slot)");
        }
        reserve(steps, null);
        Pass pass = pass(steps, null, trainable);
        NDArray picked = pass.out().get(new NDIndex("{}", manager.create(rows)));
        NDArray logits = softcap(project(rmsNorm(picked, w.finalNorm()), w.outputHead(), null, null, true),
                opt.finalLogitSoftcap());
        return logits.logSoftmax(-1).gather(manager.create(targets).reshape(targets.length, 1), 1).reshape(targets.length);
    }

    /** The final residual stream of a forward pass ([N, d]), where each step's rows start, and what hooks read. */
    private record Pass(NDArray out, int[] rowStart, List<Map<HookPoint, float[]>> captured) {}

    /** Checks the steps fit the context and grows the cache to hold them. */
    private void reserve(List<ForwardStep> steps, KvCache cache) {
        int maxEnd = 0;
        for (ForwardStep s : steps) {
            maxEnd = Math.max(maxEnd, s.startPosition() + s.length());
            if (s.slot() >= 0 && cache == null) throw new IllegalArgumentException("a step with a slot needs a cache");
        }
        if (maxEnd > cfg.contextLength()) {
            throw new IllegalArgumentException("positions up to " + maxEnd + " exceed the context length " + cfg.contextLength());
        }
        if (cache != null) cache.ensureCapacity(maxEnd);
    }

    /** Embedding and blocks (after {@link #reserve}); the arrays it returns live in the caller's NDScope. */
    private Pass pass(List<ForwardStep> steps, KvCache cache, Map<Integer, NDArray> trainable) {
        int n = 0;
        for (ForwardStep s : steps) n += s.length();
        int decodeCount = leadingDecodes(steps);

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
        NDArray posIdx = manager.create(positions);
        NDArray[] cos = new NDArray[2];
        NDArray[] sin = new NDArray[2];
        for (int kind = GLOBAL; kind <= LOCAL; kind++) {
            int table = ropeCos[kind] == null ? GLOBAL : kind;
            if (kind == LOCAL && table == GLOBAL) {
                cos[LOCAL] = cos[GLOBAL];
                sin[LOCAL] = sin[GLOBAL];
                continue;
            }
            cos[kind] = ropeCos[table].get(new NDIndex("{}", posIdx)).reshape(n, 1, cfg.headDim());
            sin[kind] = ropeSin[table].get(new NDIndex("{}", posIdx)).reshape(n, 1, cfg.headDim());
        }
        NDArray x = w.embedding().get(new NDIndex("{}", manager.create(ids)));
        if (lowPrecision) x = x.toType(DataType.FLOAT32, false);
        if (opt.embeddingScale() != 1f) x = x.mul(opt.embeddingScale());

        Map<Integer, NDArray> additions = decodeCount > 0 && decodeCount == steps.size()
                ? cache.decodeSteering().additions(steps)
                : Steering.additions(steps, n, cfg.dModel(), manager);
        Map<Integer, List<Integer>> captureSites = captureSites(steps);
        List<Map<HookPoint, float[]>> captured = new ArrayList<>();
        for (int b = 0; b < steps.size(); b++) captured.add(new HashMap<>());
        DecodeWindow[] windows = null;
        if (decodeCount > 0) {
            List<ForwardStep> decodes = steps.subList(0, decodeCount);
            DecodeWindow global = decodeWindow(decodes, false);
            windows = new DecodeWindow[]{global, anySliding ? decodeWindow(decodes, true) : global};
        }

        // a lone generation's decode step multiplies the 8-bit copies (one-shots keep the compute dtype)
        boolean int8 = n == 1 && steps.get(0).slot() >= 0 && w.outputHead8() != null;
        boolean[] projectionSites = new boolean[3 * cfg.nLayers()];
        for (ForwardStep fs : steps) {
            for (Intervention iv : fs.interventions()) {
                if (iv.kind() != Intervention.Kind.ADD) projectionSites[iv.hook().ordinal()] = true;
            }
        }
        Step step = new Step(steps, rowStart, n, cos, sin, decodeCount, windows, cache, additions, trainable,
                captureSites, captured, int8, projectionSites, !trainable.isEmpty());
        boolean countOps = Boolean.getBoolean("steering.countOps");
        for (int l = 0; l < w.layers().length; l++) {
            // each layer's intermediates are freed when the layer ends, not when the step ends: a long prefill
            // would otherwise hold every layer's activations at once (hundreds of MB for 256 tokens). Autograd
            // keeps what a backward needs by itself: closing a handle here does not free a tensor the graph saved.
            NDArray input = x;
            try (NDScope layerScope = new NDScope()) {
                int before = countOps && l == 0 ? manager.getManagedArrays().size() : 0;
                x = block(l, input, step);
                if (countOps && l == 0) lastBlockOps = manager.getManagedArrays().size() - before;
                NDScope.unregister(x);
            }
            if (l > 0) input.close(); // the previous block's output, kept alive by hand (block 0's is the embedding)
        }
        NDScope.register(x); // back under the caller's scope
        return new Pass(x, rowStart, captured);
    }

    /**
     * What a decode step's attention reads from the cache for one kind of layer: positions [lo, end) of the first B
     * slots ({@code seen}), an additive mask (null when every sequence may see all of them), and where the new keys
     * and values go (one advanced-index write per tensor puts every sequence's at its own position). Made once per
     * step, not once per layer.
     */
    private record DecodeWindow(int lo, int end, NDArray mask, NDIndex seen, NDIndex newEntries) {}

    /** What every block of one forward step shares; steps [0, decodeCount) are batched decodes in slots 0..B-1. */
    private record Step(List<ForwardStep> steps, int[] rowStart, int n, NDArray[] cos, NDArray[] sin, int decodeCount,
                        DecodeWindow[] windows, KvCache cache, Map<Integer, NDArray> additions,
                        Map<Integer, NDArray> trainable, Map<Integer, List<Integer>> captureSites, List<Map<HookPoint, float[]>> captured,
                        boolean int8, boolean[] projectionSites, boolean differentiable) {}

    /** Block l: attention then MLP, each added to the residual stream, with the hook sites between them. */
    private NDArray block(int l, NDArray x, Step s) {
        DecoderWeights.Layer lw = w.layers()[l];
        int n = s.n();
        int kind = lw.sliding() ? LOCAL : GLOBAL;
        x = hook(x, new HookPoint(l, HookPoint.Site.PRE), s);
        boolean i8 = s.int8();
        boolean f32 = s.differentiable();
        NDArray qkv = float32(project(rmsNorm(x, lw.attnNorm()), lw.wQkv(), lw.bQkv(), i8 ? lw.wQkv8() : null, f32));
        NDArray qk = qkv.get(qkCols).reshape(n, cfg.nHeads() + cfg.nKvHeads(), cfg.headDim());
        if (lw.qkNorm() != null) qk = rmsNorm(qk, lw.qkNorm());
        qk = rope(qk, s.cos()[kind], s.sin()[kind]);
        NDArray q = qk.get(qHeads);
        NDArray k = qk.get(kHeads);
        NDArray v = qkv.get(vCols).reshape(n, cfg.nKvHeads(), cfg.headDim());
        NDArray attn = attend(l, q, k, v, s, lw.sliding());
        NDArray attnOut = project(attn, lw.wOut(), null, i8 ? lw.wOut8() : null, f32);
        if (lw.postAttnNorm() != null) attnOut = rmsNorm(float32(attnOut), lw.postAttnNorm());
        x = x.add(attnOut); // a float16 term is promoted: the residual stream stays float32
        x = hook(x, new HookPoint(l, HookPoint.Site.MID), s);
        NDArray gateUp = project(rmsNorm(x, lw.mlpNorm()), lw.wGateUp(), null, i8 ? lw.wGateUp8() : null, f32);
        NDArray gate = gateUp.get(gateCols);
        NDArray up = gateUp.get(upCols);
        // gate and up stay in the compute dtype
        NDArray mlpOut = project(activate(gate).mul(up), lw.wDown(), null, i8 ? lw.wDown8() : null, f32);
        if (lw.postMlpNorm() != null) mlpOut = rmsNorm(float32(mlpOut), lw.postMlpNorm());
        x = x.add(mlpOut);
        return hook(x, new HookPoint(l, HookPoint.Site.POST), s);
    }

    /**
     * x [N, in] times a [out, in] weight (plus bias), as PyTorch's linear, in the compute dtype: a float32 input is
     * cast down first, and the product stays in the compute dtype (callers cast up with {@link #float32} where the
     * next op needs float32; an add into the float32 residual stream promotes by itself).
     *
     * <p>With {@code float32Weights} (the differentiable forward) the weight is cast up instead and the product is
     * float32: DJL's dtype cast runs under PyTorch's NoGradGuard, so casting the activations would cut the autograd
     * graph, while the weights need no gradient.
     */
    private NDArray project(NDArray x, NDArray weight, NDArray bias, Int8Matrix int8, boolean float32Weights) {
        if (int8 != null) {
            // one row: the 8-bit product in Java reads a quarter of float32's bytes (Int8Matrix says why)
            NDArray out = manager.create(int8.multiply(float32(x).toFloatArray()), new Shape(1, int8.rows()));
            return bias == null ? out : out.add(bias);
        }
        if (!lowPrecision) return Linear.linear(x, weight, bias).head();
        if (float32Weights) {
            return Linear.linear(x, weight.toType(DataType.FLOAT32, false), bias == null ? null : float32(bias)).head();
        }
        NDArray in = x.getDataType() == w.computeType() ? x : x.toType(w.computeType(), false);
        NDArray out = Linear.linear(in, weight, null).head();
        return bias == null ? out : out.add(bias); // a float32 bias promotes the sum to float32
    }

    private static NDArray float32(NDArray x) {
        return x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
    }

    /** Attention of every new row: batched for the leading decodes, per sequence for the rest. */
    private NDArray attend(int l, NDArray q, NDArray k, NDArray v, Step s, boolean sliding) {
        int b = s.decodeCount();
        if (b == s.steps().size()) {
            return attendDecode(l, q, k, v, s.steps(), s.cache(), s.windows()[sliding ? LOCAL : GLOBAL]);
        }
        if (b == 0) return attendPerSequence(l, q, k, v, s.steps(), s.rowStart(), s.cache(), sliding, 0);
        NDArray decoded = attendDecode(l, q.get(":{}", b), k.get(":{}", b), v.get(":{}", b), s.steps().subList(0, b),
                s.cache(), s.windows()[sliding ? LOCAL : GLOBAL]);
        NDArray rest = attendPerSequence(l, q, k, v, s.steps(), s.rowStart(), s.cache(), sliding, b);
        return decoded.concat(rest, 0);
    }

    private NDArray activate(NDArray gate) {
        return switch (opt.activation()) {
            case SILU -> gate.mul(Activation.sigmoid(gate));
            // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's gelu(approximate="tanh")
            case GELU_TANH -> gate.mul(gate.square().mul(0.044715f).add(1f).mul(gate).mul(0.7978845608028654f)
                    .tanh().add(1f).mul(0.5f));
        };
    }

    /** How many leading steps are single-token decodes from cache slots 0, 1, 2, ... in order. */
    private static int leadingDecodes(List<ForwardStep> steps) {
        int b = 0;
        while (b < steps.size() && steps.get(b).length() == 1 && steps.get(b).slot() == b) b++;
        return b;
    }

    /** A hook site: add the batch's interventions for this site, then copy out what read hooks asked for. */
    private NDArray hook(NDArray x, HookPoint site, Step s) {
        NDArray add = s.additions().get(site.ordinal());
        if (add != null) x = x.add(add);
        NDArray trained = s.trainable().get(site.ordinal());
        if (trained != null) x = x.add(trained);
        if (s.projectionSites()[site.ordinal()]) {
            x = Projections.apply(x, site.ordinal(), s.steps(), s.rowStart(), s.n(), manager);
        }
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

    /** x / sqrt(mean(x^2) + eps) * w: six ops, none of them making a scalar tensor. */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray meanSquare = x.square().mean(new int[]{-1}, true);
        return x.div(meanSquare.add(rmsEps).sqrt()).mul(weight);
    }

    /** Rotate-half RoPE on [N, heads, head_dim]: x * cos + rotate_half(x) * sin. */
    private NDArray rope(NDArray x, NDArray cos, NDArray sin) {
        return x.mul(cos).add(x.matMul(rotateHalf).mul(sin));
    }

    /** cap * tanh(scores / cap) (Gemma 2), or the scores unchanged. */
    private NDArray softcap(NDArray scores, float cap) {
        return cap > 0 ? scores.div(cap).tanh().mul(cap) : scores;
    }

    /**
     * The cache range and mask of a decode step (sequence i at position p_i sees positions t <= p_i; a local layer
     * only t > p_i - window). Local layers read from the oldest position any sequence still sees, so their cost
     * stays bounded by the window however long the sequences grow.
     */
    private DecodeWindow decodeWindow(List<ForwardStep> steps, boolean sliding) {
        int b = steps.size();
        int window = opt.slidingWindow();
        int end = 0;
        int lo = Integer.MAX_VALUE;
        for (ForwardStep s : steps) {
            end = Math.max(end, s.startPosition() + 1);
            lo = Math.min(lo, sliding ? Math.max(0, s.startPosition() - window + 1) : 0);
        }
        int len = end - lo;
        float[] mask = new float[b * len];
        boolean any = false;
        for (int i = 0; i < b; i++) {
            int pos = steps.get(i).startPosition();
            for (int t = lo; t < end; t++) {
                if (t > pos || (sliding && t <= pos - window)) {
                    mask[i * len + t - lo] = Float.NEGATIVE_INFINITY;
                    any = true;
                }
            }
        }
        long[] slots = new long[b];
        long[] positions = new long[b];
        for (int i = 0; i < b; i++) {
            slots[i] = i;
            positions[i] = steps.get(i).startPosition();
        }
        return new DecodeWindow(lo, end, any ? manager.create(mask, new Shape(b, 1, 1, len)) : null,
                new NDIndex(":{}, :, {}:{}, :", b, lo, end),
                new NDIndex("{}, :, {}", manager.create(slots), manager.create(positions)));
    }

    /** Decode: one token per sequence, sequences in cache slots 0..B-1, one batched attention over the slots. */
    private NDArray attendDecode(int layer, NDArray q, NDArray k, NDArray v, List<ForwardStep> steps, KvCache cache,
                                 DecodeWindow window) {
        int b = steps.size();
        NDArray keys = cache.keys(layer);
        NDArray values = cache.values(layer);
        keys.set(window.newEntries(), k);
        values.set(window.newEntries(), v);
        NDArray kc = keys.get(window.seen());        // [B, K, T, hd]
        NDArray vc = values.get(window.seen());
        NDArray qg = q.reshape(b, cfg.nKvHeads(), cfg.queryGroupSize(), cfg.headDim()); // [B, K, g, hd]
        NDArray scores = softcap(qg.matMul(kc.transpose(0, 1, 3, 2)), opt.attnLogitSoftcap()); // [B, K, g, T]
        if (window.mask() != null) scores = scores.add(window.mask());
        return scores.softmax(-1).matMul(vc).reshape(b, cfg.nHeads() * cfg.headDim());
    }

    /** Prefill and mixed steps: causal attention of each sequence over its cached prefix plus its new tokens. */
    private NDArray attendPerSequence(int layer, NDArray q, NDArray k, NDArray v, List<ForwardStep> steps,
                                      int[] rowStart, KvCache cache, boolean sliding, int first) {
        NDList outputs = new NDList(steps.size() - first);
        for (int b = first; b < steps.size(); b++) {
            ForwardStep s = steps.get(b);
            int len = s.length();
            int start = s.startPosition();
            int total = start + len;
            // a local layer's first new token sees nothing older than start - window + 1, nor do the later ones
            int lo = sliding ? Math.max(0, start - opt.slidingWindow() + 1) : 0;
            NDArray kb = k.get("{}:{}", rowStart[b], rowStart[b] + len).transpose(1, 0, 2); // [K, n, hd]
            NDArray vb = v.get("{}:{}", rowStart[b], rowStart[b] + len).transpose(1, 0, 2);
            if (s.slot() >= 0) {
                NDIndex into = new NDIndex("{}, :, {}:{}, :", s.slot(), start, total);
                cache.keys(layer).set(into, kb);
                cache.values(layer).set(into, vb);
                NDIndex seen = new NDIndex("{}, :, {}:{}, :", s.slot(), lo, total);
                kb = cache.keys(layer).get(seen);
                vb = cache.values(layer).get(seen);
            } else if (start != 0) {
                throw new IllegalArgumentException("a step without a cache slot must start at position 0");
            }
            NDArray qb = q.get("{}:{}", rowStart[b], rowStart[b] + len)
                    .reshape(len, cfg.nKvHeads(), cfg.queryGroupSize(), cfg.headDim())
                    .transpose(1, 2, 0, 3);                                        // [K, g, n, hd]
            NDArray scores = softcap(qb.matMul(kb.transpose(0, 2, 1).expandDims(1)), opt.attnLogitSoftcap()); // [K, g, n, T]
            if (len > 1) scores = scores.add(mask(start, len, lo, total, sliding));
            NDArray out = scores.softmax(-1).matMul(vb.expandDims(1));             // [K, g, n, hd]
            outputs.add(out.transpose(2, 0, 1, 3).reshape(len, cfg.nHeads() * cfg.headDim()));
        }
        return outputs.size() == 1 ? outputs.get(0) : NDArrays.concat(outputs, 0);
    }

    /** [len, total - lo]: query i (position start + i) may see key position t when t <= start + i (and, on a local
     * layer, t > start + i - window). */
    private NDArray mask(int start, int len, int lo, int total, boolean sliding) {
        int width = total - lo;
        int window = opt.slidingWindow();
        float[] mask = new float[len * width];
        for (int i = 0; i < len; i++) {
            int pos = start + i;
            for (int t = lo; t < total; t++) {
                if (t > pos || (sliding && t <= pos - window)) mask[i * width + t - lo] = Float.NEGATIVE_INFINITY;
            }
        }
        return manager.create(mask, new Shape(len, width));
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
            Int8Matrix head8 = idx.length == 1 && steps.size() == 1 && steps.get(0).slot() >= 0 ? w.outputHead8() : null;
            all = softcap(float32(project(rmsNorm(picked, w.finalNorm()), w.outputHead(), null, head8, false)),
                    opt.finalLogitSoftcap()).toFloatArray();
        }
        List<ForwardResult> results = new ArrayList<>(steps.size());
        int vocab = cfg.vocabSize();
        int offset = 0;
        for (int b = 0; b < steps.size(); b++) {
            ForwardStep s = steps.get(b);
            int count = Math.max(0, s.length() - s.logitsFrom());
            // a lone step owns all the logits (no copy: at 49k vocabulary and batch 16 the copies were 3 MB a step)
            float[] mine = steps.size() == 1 ? all : new float[count * vocab];
            if (mine != all) System.arraycopy(all, offset * vocab, mine, 0, count * vocab);
            offset += count;
            results.add(new ForwardResult(mine, count, captured.get(b)));
        }
        return results;
    }

    @Override
    public void close() {
        w.close();
    }
}
