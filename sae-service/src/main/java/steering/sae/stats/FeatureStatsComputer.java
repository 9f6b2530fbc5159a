package steering.sae.stats;

import steering.sae.core.Sae;
import steering.sae.corpus.TokenWindows.Window;
import steering.sae.training.ActivationSet;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** Encodes captured activations with an SAE and accumulates its feature statistics and top contexts. */
public final class FeatureStatsComputer {
    /** Tokens shown before and after the marked token of a context. */
    static final int BEFORE = 12, AFTER = 4;
    static final int ROWS_PER_CHUNK = 1024;

    public interface Progress {
        void rowsDone(long done, long total);
    }

    private FeatureStatsComputer() {}

    /** Turns token ids into text (model-service's Detokenize). */
    public interface Detokenizer {
        String decode(int[] ids);
    }

    /**
     * @param detokenizer renders the contexts exactly (each context decoded as a whole, so spaces that single-token
     *                    pieces lose, as with SentencePiece, come out right); null joins the pieces instead
     */
    public static FeatureStatsData compute(Sae sae, ActivationSet acts, int topContexts, Map<Integer, String> pieces,
                                           String bosPiece, Detokenizer detokenizer, String corpus,
                                           BooleanSupplier cancelled, Progress progress) {
        int d = acts.d();
        int m = sae.dSae();
        FeatureStatsAccumulator acc = new FeatureStatsAccumulator(m, topContexts);
        if (acts.bosRow() != null) acc.setBos(sae.encode(acts.bosRow(), 1));
        int window = 0;
        for (int start = 0; start < acts.rows(); start += ROWS_PER_CHUNK) {
            if (cancelled.getAsBoolean()) throw new steering.common.ops.OperationCancelledException("feature statistics");
            int n = Math.min(ROWS_PER_CHUNK, acts.rows() - start);
            float[] x = new float[n * d];
            System.arraycopy(acts.data(), start * d, x, 0, n * d);
            float[] f = sae.encode(x, n);
            for (int r = 0; r < n; r++) {
                int row = start + r;
                while (acts.rowStart()[window + 1] <= row) window++;
                acc.add(f, r * m, window, acts.positionOf(window, row));
            }
            if (progress != null) progress.rowsDone(start + n, acts.rows());
        }
        FeatureStatsData raw = acc.finish(corpus);
        Map<Integer, List<TopContext>> rendered = new java.util.concurrent.ConcurrentHashMap<>();
        List<Integer> features = new ArrayList<>(raw.topContexts().keySet());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(detokenizer == null ? 1 : 4);
        try {
            List<java.util.concurrent.Future<?>> jobs = new ArrayList<>();
            for (int f : features) {
                jobs.add(pool.submit(() -> {
                    if (cancelled.getAsBoolean()) return;
                    List<TopContext> out = new ArrayList<>();
                    for (TopContext c : raw.topContexts().get(f)) {
                        out.add(render(c, acts.windows().get(c.document()), pieces, bosPiece, detokenizer));
                    }
                    rendered.put(f, out);
                }));
            }
            for (java.util.concurrent.Future<?> j : jobs) j.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new steering.common.ops.OperationCancelledException("feature statistics");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
        if (cancelled.getAsBoolean()) throw new steering.common.ops.OperationCancelledException("feature statistics");
        return new FeatureStatsData(raw.tokens(), raw.corpus(), raw.computedAt(), raw.density(), raw.meanActivation(),
                raw.meanActiveActivation(), raw.maxActivation(), raw.bosActivation(), raw.bosFeatures(), new HashMap<>(rendered));
    }

    static TopContext render(TopContext c, Window w, Map<Integer, String> pieces, String bosPiece, Detokenizer detokenizer) {
        int[] ids = w.ids();
        int from = Math.max(w.hasBos() ? 1 : 0, c.position() - BEFORE);
        int to = Math.min(ids.length - 1, c.position() + AFTER);
        String before, token, after;
        if (c.position() == 0 && w.hasBos()) {
            before = "";
            token = bosPiece;
            after = detokenizer != null ? detokenizer.decode(java.util.Arrays.copyOfRange(ids, 1, to + 1)) : join(ids, 1, to, pieces);
        } else if (detokenizer != null) {
            // decode growing prefixes of the span, so each part keeps the spacing it has inside the whole text
            String upToBefore = detokenizer.decode(java.util.Arrays.copyOfRange(ids, from, c.position()));
            String upToToken = detokenizer.decode(java.util.Arrays.copyOfRange(ids, from, c.position() + 1));
            String all = detokenizer.decode(java.util.Arrays.copyOfRange(ids, from, to + 1));
            before = upToBefore;
            token = upToToken.startsWith(upToBefore) ? upToToken.substring(upToBefore.length()) : pieces.getOrDefault(ids[c.position()], "");
            after = all.startsWith(upToToken) ? all.substring(upToToken.length()) : join(ids, c.position() + 1, to, pieces);
        } else {
            before = join(ids, from, c.position() - 1, pieces);
            token = pieces.getOrDefault(ids[c.position()], "<" + ids[c.position()] + ">");
            after = join(ids, c.position() + 1, to, pieces);
        }
        String text = clean(before) + "[[" + clean(token) + "]]" + clean(after);
        return c.withText(text, clean(token));
    }

    private static String join(int[] ids, int from, int to, Map<Integer, String> pieces) {
        StringBuilder sb = new StringBuilder();
        for (int p = from; p <= to; p++) sb.append(pieces.getOrDefault(ids[p], "<" + ids[p] + ">"));
        return sb.toString();
    }

    private static String clean(String s) {
        return s.replace("\n", "\u21b5");
    }
}
