package steering.sae.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import steering.common.ops.OperationCancelledException;
import steering.sae.core.Architecture;
import steering.sae.core.SaeWeights;

import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * Trains a TopK SAE (Gao et al. 2024: TopK activation, AuxK loss on dead latents, unit-norm decoder rows with the
 * gradient's parallel component removed, W_enc initialised as W_dec transposed, b_dec at the data mean) or a ReLU
 * SAE with an L1 penalty, with DJL autograd and Adam.
 * <p>
 * The activations are scaled by one constant so that their mean norm is sqrt(d) (as SAELens' expected-average
 * normalisation); the scale is folded out at the end, so the returned weights take raw activations, keep unit-norm
 * decoder rows, and give feature activations in raw residual-stream units.
 */
public final class SaeTrainer {
    /**
     * @param batchSize  tokens per step
     * @param steps      optimiser steps
     * @param deadTokens a latent that has not fired for this many training tokens counts as dead (AuxK)
     * @param auxAlpha   weight of the AuxK loss (1/32 in the paper)
     */
    public record Params(Architecture architecture, int dSae, int k, double l1, double learningRate, int batchSize,
                         long steps, long seed, long deadTokens, double auxAlpha) {}

    /** Progress of training, reported every few steps. */
    public interface Listener {
        void step(long step, long steps, double fvu, double l0, double deadFraction, double tokensPerSecond);
    }

    /** The trained weights (raw units), the input scale used, and throughput. */
    public record Result(SaeWeights weights, float inputScale, double tokensPerSecond, long tokens, double finalFvu,
                         double finalDeadFraction, long resumedFromStep) {}

    private SaeTrainer() {}

    public static Result train(float[] data, int rows, int d, Params p, Listener listener, BooleanSupplier cancelled) {
        return train(data, rows, d, p, listener, cancelled, null);
    }

    /**
     * As above, saving the whole state to {@code checkpoint} (null: none) every few steps and, when it holds a state
     * of this same run, continuing from there: the result is the one an uninterrupted run gives.
     */
    public static Result train(float[] data, int rows, int d, Params p, Listener listener, BooleanSupplier cancelled,
                               TrainingCheckpoint checkpoint) {
        if (p.architecture() != Architecture.TOPK && p.architecture() != Architecture.STANDARD) {
            throw new IllegalArgumentException("training supports topk and standard (ReLU + L1), not " + p.architecture());
        }
        if (rows < 2) throw new IllegalArgumentException("at least 2 rows of activations are needed, got " + rows);
        int m = p.dSae();
        int batch = Math.min(p.batchSize(), rows);
        Random rnd = new Random(p.seed());
        String fingerprint = TrainingCheckpoint.fingerprint(p, rows, d);
        float scale = inputScale(data, rows, d);

        // grad mode is per thread in PyTorch and on by default in new threads; the updates below run without it
        Engine.getEngine("PyTorch"); // loads the native library before the direct JNI calls below
        boolean gradMode = ai.djl.pytorch.jni.JniUtils.isGradMode();
        ai.djl.pytorch.jni.JniUtils.setGradMode(false);
        try (NDManager base = NDManager.newBaseManager()) {
            // --- initialisation ---------------------------------------------------------------------------------
            float[] dec = new float[m * d];
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int i = 0; i < d; i++) {
                    float v = (float) rnd.nextGaussian();
                    dec[j * d + i] = v;
                    s += v * v;
                }
                float inv = (float) (1 / Math.sqrt(s));
                for (int i = 0; i < d; i++) dec[j * d + i] *= inv;
            }
            float[] enc = new float[d * m];
            for (int j = 0; j < m; j++) for (int i = 0; i < d; i++) enc[i * m + j] = dec[j * d + i];
            double[] mean = new double[d];
            for (int r = 0; r < rows; r++) for (int i = 0; i < d; i++) mean[i] += data[r * d + i];
            float[] bd = new float[d];
            for (int i = 0; i < d; i++) bd[i] = (float) (mean[i] / rows * scale);

            NDArray wEnc = base.create(enc, new Shape(d, m));
            NDArray bEnc = base.zeros(new Shape(m));
            NDArray wDec = base.create(dec, new Shape(m, d));
            NDArray bDec = base.create(bd, new Shape(d));
            NDArray[] params = {wEnc, bEnc, wDec, bDec};
            NDArray[] m1 = new NDArray[4];
            NDArray[] v1 = new NDArray[4];
            for (int i = 0; i < 4; i++) {
                params[i].setRequiresGradient(true);
                m1[i] = base.zeros(params[i].getShape());
                v1[i] = base.zeros(params[i].getShape());
            }
            long[] sinceFired = new long[m];
            int kAuxMax = Math.max(1, d / 2);
            int[] order = new int[rows];
            for (int i = 0; i < rows; i++) order[i] = i;
            shuffle(order, rnd);
            int cursor = 0;
            float[] xb = new float[batch * d];
            long start = System.nanoTime();
            double fvu = Double.NaN, l0 = 0, deadFraction = 0;
            long reportEvery = Math.max(1, Math.min(50, p.steps() / 20));
            final double b1 = 0.9, b2 = 0.999, eps = 1e-8;
            long firstStep = 1;
            NDArray[] state = {wEnc, bEnc, wDec, bDec, m1[0], m1[1], m1[2], m1[3], v1[0], v1[1], v1[2], v1[3]};
            TrainingCheckpoint.State saved = checkpoint == null ? null : checkpoint.load(fingerprint).orElse(null);
            if (saved != null) {
                for (int i = 0; i < state.length; i++) state[i].set(saved.arrays()[i]);
                System.arraycopy(saved.order(), 0, order, 0, rows);
                System.arraycopy(saved.sinceFired(), 0, sinceFired, 0, m);
                cursor = saved.cursor();
                rnd = saved.random();
                firstStep = saved.step() + 1;
            }
            long resumedAt = firstStep - 1;

            for (long step = firstStep; step <= p.steps(); step++) {
                if (cancelled.getAsBoolean()) throw new OperationCancelledException("training");
                for (int b = 0; b < batch; b++) {
                    if (cursor == rows) {
                        shuffle(order, rnd);
                        cursor = 0;
                    }
                    int r = order[cursor++];
                    for (int i = 0; i < d; i++) xb[b * d + i] = data[r * d + i] * scale;
                }
                int nDead = 0;
                for (int j = 0; j < m; j++) if (sinceFired[j] > p.deadTokens()) nDead++;
                boolean[] fired = new boolean[m];
                double lr = learningRate(p, step);
                try (NDManager sm = base.newSubManager()) {
                    NDArray x = sm.create(xb, new Shape(batch, d));
                    NDArray totalVar = x.sub(x.mean(new int[]{0}, true)).square().sum();
                    NDArray loss;
                    NDArray fvuArr;
                    long[] firedIdx;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray pre = x.sub(bDec).matMul(wEnc).add(bEnc);
                        NDArray recon;
                        NDArray sparsity = null;
                        if (p.architecture() == Architecture.TOPK) {
                            NDList top = pre.topK(p.k(), 1, true, false);
                            NDArray vals = top.get(0).maximum(0f);
                            NDArray idx = top.get(1);
                            NDArray rowsDec = wDec.get(sm, new NDIndex("{}", idx)); // [B, k, d]
                            recon = vals.expandDims(2).mul(rowsDec).sum(new int[]{1}).add(bDec);
                            NDArray active = vals.gt(0f);
                            firedIdx = idx.toLongArray();
                            boolean[] act = active.toBooleanArray();
                            for (int i = 0; i < firedIdx.length; i++) if (act[i]) fired[(int) firedIdx[i]] = true;
                            l0 = active.toType(DataType.FLOAT32, false).sum().getFloat() / batch;
                        } else {
                            NDArray f = pre.maximum(0f);
                            recon = f.matMul(wDec).add(bDec);
                            sparsity = f.sum(new int[]{1}).mean().mul(p.l1());
                            boolean[] any = f.gt(0f).toType(DataType.FLOAT32, false).sum(new int[]{0}).gt(0f).toBooleanArray();
                            for (int j = 0; j < m; j++) fired[j] = any[j];
                            l0 = f.gt(0f).toType(DataType.FLOAT32, false).sum().getFloat() / batch;
                        }
                        NDArray err = recon.sub(x);
                        fvuArr = err.square().sum().div(totalVar);
                        loss = fvuArr;
                        if (sparsity != null) loss = loss.add(sparsity);
                        if (p.architecture() == Architecture.TOPK && nDead > 0) {
                            int kAux = Math.min(kAuxMax, nDead);
                            float auxScale = Math.min(1f, (float) nDead / kAuxMax);
                            boolean[] dead = new boolean[m];
                            for (int j = 0; j < m; j++) dead[j] = sinceFired[j] > p.deadTokens();
                            NDArray deadMask = sm.create(dead);
                            NDArray masked = pre.add(sm.full(new Shape(m), -1e30f).mul(deadMask.logicalNot().toType(DataType.FLOAT32, false)));
                            NDList auxTop = masked.topK(kAux, 1, true, false);
                            NDArray auxActs = sm.zeros(new Shape(batch, m)).scatter(auxTop.get(1), auxTop.get(0).maximum(0f), 1);
                            NDArray auxRecon = auxActs.matMul(wDec);
                            NDArray auxLoss = auxRecon.sub(err.stopGradient().neg()).square().sum().div(totalVar);
                            loss = loss.add(auxLoss.mul(p.auxAlpha() * auxScale));
                        }
                        gc.backward(loss);
                    }
                    fvu = fvuArr.getFloat();
                    if (!Double.isFinite(fvu)) throw new IllegalStateException("training diverged (fvu " + fvu + " at step " + step + ")");
                    // --- Adam with unit-norm decoder rows ------------------------------------------------------
                    double bc1 = 1 - Math.pow(b1, step);
                    double bc2 = 1 - Math.pow(b2, step);
                    for (int i = 0; i < 4; i++) {
                        NDArray g = params[i].getGradient();
                        g.attach(sm);
                        if (params[i] == wDec) {
                            NDArray parallel = g.mul(wDec).sum(new int[]{1}, true);
                            NDArray proj = g.sub(parallel.mul(wDec)); // grad mode is off here: no graph
                            update(params[i], proj, m1[i], v1[i], lr, b1, b2, bc1, bc2, eps, sm);
                        } else {
                            update(params[i], g, m1[i], v1[i], lr, b1, b2, bc1, bc2, eps, sm);
                        }
                        ai.djl.pytorch.jni.JniUtils.zeroGrad((ai.djl.pytorch.engine.PtNDArray) params[i]); // gradients accumulate: clear them
                    }
                    NDArray norms = wDec.norm(new int[]{1}, true);
                    norms.attach(sm);
                    wDec.divi(norms.add(1e-8f));
                }
                for (int j = 0; j < m; j++) sinceFired[j] = fired[j] ? 0 : sinceFired[j] + batch;
                int deadNow = 0;
                for (int j = 0; j < m; j++) if (sinceFired[j] > p.deadTokens()) deadNow++;
                deadFraction = (double) deadNow / m;
                if (listener != null && (step % reportEvery == 0 || step == p.steps())) {
                    double secs = (System.nanoTime() - start) / 1e9;
                    listener.step(step, p.steps(), fvu, l0, deadFraction, (step - resumedAt) * batch / secs);
                }
                if (checkpoint != null && checkpoint.due(step, p.steps())) {
                    float[][] arrays = new float[state.length][];
                    for (int i = 0; i < state.length; i++) arrays[i] = state[i].toFloatArray();
                    try {
                        checkpoint.save(fingerprint, new TrainingCheckpoint.State(step, cursor, order.clone(), sinceFired.clone(), rnd, arrays));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException("could not save the training checkpoint", e);
                    }
                }
            }
            double secs = (System.nanoTime() - start) / 1e9;
            long tokens = p.steps() * batch;

            // --- fold the input scale out: raw x, unit decoder rows, activations in raw units ---------------------
            float[] wE = wEnc.toFloatArray();
            float[] bE = bEnc.toFloatArray();
            float[] wD = wDec.toFloatArray();
            float[] bD = bDec.toFloatArray();
            for (int j = 0; j < m; j++) bE[j] /= scale;
            for (int i = 0; i < d; i++) bD[i] /= scale;
            return new Result(new SaeWeights(wE, bE, wD, bD, null, null), scale, (p.steps() - resumedAt) * batch / secs, tokens, fvu,
                    deadFraction, resumedAt);
        } finally {
            ai.djl.pytorch.jni.JniUtils.setGradMode(gradMode);
        }
    }

    private static void update(NDArray w, NDArray g, NDArray m, NDArray v, double lr, double b1, double b2, double bc1,
                               double bc2, double eps, NDManager sm) {
        m.muli(b1).addi(g.mul(1 - b1));
        v.muli(b2).addi(g.square().mul(1 - b2));
        NDArray step = m.div(bc1);
        step.attach(sm);
        NDArray denom = v.div(bc2);
        denom.attach(sm);
        NDArray delta = step.div(denom.sqrt().add(eps)).mul(lr);
        w.subi(delta);
    }

    /** Constant lr after a short warm-up, decayed linearly to 0 over the last 20% of the steps. */
    static double learningRate(Params p, long step) {
        long warm = Math.max(1, Math.min(100, p.steps() / 20));
        double f = step < warm ? (double) step / warm : 1.0;
        long decayStart = (long) (p.steps() * 0.8);
        if (step > decayStart) f *= Math.max(0.0, (double) (p.steps() - step + 1) / (p.steps() - decayStart + 1));
        return p.learningRate() * f;
    }

    /** sqrt(d) / mean |x| over (a sample of) the rows. */
    static float inputScale(float[] data, int rows, int d) {
        int stride = Math.max(1, rows / 20_000);
        double sum = 0;
        int n = 0;
        for (int r = 0; r < rows; r += stride) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double) data[r * d + i] * data[r * d + i];
            sum += Math.sqrt(s);
            n++;
        }
        double meanNorm = sum / n;
        return meanNorm > 0 ? (float) (Math.sqrt(d) / meanNorm) : 1f;
    }

    private static void shuffle(int[] a, Random rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
