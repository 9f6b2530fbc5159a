package steering.sae.training;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.tensor.TensorCodec;
import steering.sae.core.Sae;
import steering.sae.corpus.TokenWindows.Window;
import steering.common.client.ModelClient;
import steering.v1.HookPoint;
import steering.v1.Intervention;
import steering.v1.PositionPolicy;
import steering.v1.Prompt;
import steering.v1.ScoreRequest;
import steering.v1.ScoreResponse;
import steering.v1.TokenIds;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * The next-token loss with the SAE's reconstruction spliced into the residual stream at its hook, measured through
 * model-service's Score: at every non-BOS position t the hook's activation x_t is replaced by x^_t by adding
 * (x^_t - x_t) as a PROMPT_FRONT intervention (an addition at the hook changes only later layers, so the clean x_t
 * captured before is exactly what the forward holds there). The BOS position, and tokens marked as outliers
 * (massive activations), are left as they are (the SAE was not trained on them). The same is done with the mean activation in place of x^ (mean ablation) as a yardstick.
 * <p>
 * Score applies PROMPT_FRONT rows to prompt positions only, so a fully spliced prediction needs the scored token
 * to come right after the prompt: each call scores one token ("per-token" mode, at sampled positions). When
 * model-service also accepts rows over the continuation ("full" mode), one call scores a whole window; the first
 * window tells which mode is available.
 */
public final class SplicedLoss {
    /** Mean losses (nats/token) over the scored tokens; {@code increaseStderr} is the standard error of the increase. */
    public record Result(double cleanLoss, double splicedLoss, double meanAblationLoss, long tokens, String mode,
                         double increaseStderr) {
        public double increase() {
            return splicedLoss - cleanLoss;
        }
    }

    public interface Progress {
        void windowsDone(int done, int total);
    }

    private SplicedLoss() {}

    /** @param outlier rows left as they are (not spliced), like BOS; may be null */
    public static Result evaluate(ModelClient model, Sae sae, String hook, ActivationSet acts, boolean[] outlier, List<Integer> windowIdx,
                                  int positionsPerWindow, long seed, BooleanSupplier cancelled, Progress progress) {
        int d = acts.d();
        float[] mean = meanWithout(acts, outlier);
        Random rnd = new Random(seed);
        boolean full = true;
        double clean = 0, spliced = 0, ablated = 0;
        long tokens = 0;
        double diffSum = 0, diffSq = 0;
        int done = 0;
        for (int w : windowIdx) {
            if (cancelled.getAsBoolean()) throw new steering.common.ops.OperationCancelledException("spliced loss");
            Window win = acts.windows().get(w);
            int[] ids = win.ids();
            int n = ids.length;
            int skip = win.hasBos() ? 1 : 0;
            if (n < 3) continue;
            float[] x = acts.windowRows(w);
            int rows = acts.rowsOf(w);
            float[] recon = sae.reconstruct(x, rows).reconstruction();
            // deltas by position: BOS (if any) gets zero
            float[] dRecon = new float[n * d];
            float[] dMean = new float[n * d];
            for (int r = 0; r < rows; r++) {
                if (outlier != null && outlier[acts.rowStart()[w] + r]) continue; // left as it is, like BOS
                int pos = r + skip;
                for (int i = 0; i < d; i++) {
                    dRecon[pos * d + i] = recon[r * d + i] - x[r * d + i];
                    dMean[pos * d + i] = mean[i] - x[r * d + i];
                }
            }
            // clean log-probs of tokens 1..n-1
            ScoreResponse cleanR = model.score(score(ids, 1, ids.length - 1, null, 0, hook, d));
            float[] cleanLp = logprobs(cleanR);
            // predictions made at positions p >= skip (p = position whose logits predict token p + 1)
            int firstP = skip;
            if (full) {
                try {
                    float[] sp = logprobs(model.score(score(ids, 1, n - 1, dRecon, n - 1, hook, d)));
                    float[] ab = logprobs(model.score(score(ids, 1, n - 1, dMean, n - 1, hook, d)));
                    for (int p = firstP; p <= n - 2; p++) {
                        clean -= cleanLp[p];
                        spliced -= sp[p];
                        ablated -= ab[p];
                        double diff = cleanLp[p] - sp[p];
                        diffSum += diff;
                        diffSq += diff * diff;
                        tokens++;
                    }
                    if (progress != null) progress.windowsDone(++done, windowIdx.size());
                    continue;
                } catch (StatusRuntimeException e) {
                    if (e.getStatus().getCode() != Status.Code.INVALID_ARGUMENT || !String.valueOf(e.getStatus().getDescription()).contains("PROMPT_FRONT")) throw e;
                    full = false; // this model-service splices prompt positions only: score one token per call
                }
            }
            List<Integer> candidates = new ArrayList<>();
            for (int p = firstP; p <= n - 2; p++) candidates.add(p);
            java.util.Collections.shuffle(candidates, rnd);
            for (int c = 0; c < Math.min(positionsPerWindow, candidates.size()); c++) {
                int p = candidates.get(c);
                // prompt = ids[0..p], continuation = ids[p + 1]: rows for positions 0..p
                float[] sp = logprobs(model.score(score(ids, p + 1, 1, dRecon, p + 1, hook, d)));
                float[] ab = logprobs(model.score(score(ids, p + 1, 1, dMean, p + 1, hook, d)));
                clean -= cleanLp[p];
                spliced -= sp[0];
                ablated -= ab[0];
                double diff = cleanLp[p] - sp[0];
                diffSum += diff;
                diffSq += diff * diff;
                tokens++;
            }
            if (progress != null) progress.windowsDone(++done, windowIdx.size());
        }
        String mode = full ? "full" : "per-token";
        if (tokens == 0) return new Result(Double.NaN, Double.NaN, Double.NaN, 0, mode, Double.NaN);
        double meanDiff = diffSum / tokens;
        double var = tokens > 1 ? (diffSq - tokens * meanDiff * meanDiff) / (tokens - 1) : Double.NaN;
        return new Result(clean / tokens, spliced / tokens, ablated / tokens, tokens, mode, Math.sqrt(Math.max(0, var) / tokens));
    }

    private static float[] meanWithout(ActivationSet acts, boolean[] skip) {
        int d = acts.d();
        double[] acc = new double[d];
        long n = 0;
        for (int r = 0; r < acts.rows(); r++) {
            if (skip != null && skip[r]) continue;
            for (int i = 0; i < d; i++) acc[i] += acts.data()[r * d + i];
            n++;
        }
        float[] out = new float[d];
        for (int i = 0; i < d; i++) out[i] = (float) (acc[i] / Math.max(1, n));
        return out;
    }

    private static float[] logprobs(ScoreResponse r) {
        float[] out = new float[r.getLogprobsCount()];
        for (int i = 0; i < out.length; i++) out[i] = r.getLogprobs(i);
        return out;
    }

    /** Scores ids[promptLen .. promptLen + contLen) after ids[0 .. promptLen), with the first `rows` rows of `delta` added PROMPT_FRONT. */
    private static ScoreRequest score(int[] ids, int promptLen, int contLen, float[] delta, int rows, String hook, int d) {
        TokenIds.Builder prompt = TokenIds.newBuilder();
        for (int i = 0; i < promptLen; i++) prompt.addIds(ids[i]);
        TokenIds.Builder cont = TokenIds.newBuilder();
        for (int i = promptLen; i < promptLen + contLen; i++) cont.addIds(ids[i]);
        ScoreRequest.Builder b = ScoreRequest.newBuilder().setPrompt(Prompt.newBuilder().setTokens(prompt))
                .setContinuationTokens(cont);
        if (delta != null) {
            float[] v = new float[rows * d];
            System.arraycopy(delta, 0, v, 0, v.length);
            b.addInterventions(Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(hook))
                    .setVector(TensorCodec.ofFloats(v, rows, d)).setScale(1.0).setPositions(PositionPolicy.PROMPT_FRONT));
        }
        return b.build();
    }
}
