package steering.sae.stats;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Streams encoded tokens in and keeps, per feature, the firing count, the activation sum and maximum, and a
 * min-heap of its top contexts. Memory is O(d_sae * topN) whatever the corpus size.
 */
public final class FeatureStatsAccumulator {
    private final int dSae;
    private final int topN;
    private final long[] fires;
    private final double[] sum;
    private final float[] max;
    private final List<PriorityQueue<TopContext>> heaps;
    private float[] bos;
    private long tokens;

    public FeatureStatsAccumulator(int dSae, int topN) {
        this.dSae = dSae;
        this.topN = topN;
        this.fires = new long[dSae];
        this.sum = new double[dSae];
        this.max = new float[dSae];
        this.heaps = new ArrayList<>(dSae);
        for (int j = 0; j < dSae; j++) heaps.add(null);
    }

    /** Adds one non-BOS token's dense feature row (values at offset .. offset + d_sae). */
    public void add(float[] features, int offset, int document, int position) {
        tokens++;
        for (int j = 0; j < dSae; j++) {
            float v = features[offset + j];
            if (v <= 0f) continue;
            fires[j]++;
            sum[j] += v;
            if (v > max[j]) max[j] = v;
            if (topN > 0) offer(j, new TopContext(document, position, v, "", ""));
        }
    }

    private void offer(int feature, TopContext c) {
        PriorityQueue<TopContext> h = heaps.get(feature);
        if (h == null) {
            h = new PriorityQueue<>(topN + 1, (a, b) -> Float.compare(a.activation(), b.activation()));
            heaps.set(feature, h);
        }
        if (h.size() < topN) {
            h.add(c);
        } else if (c.activation() > h.peek().activation()) {
            h.poll();
            h.add(c);
        }
    }

    /** The features' activations on the BOS token (one dense row). */
    public void setBos(float[] row) {
        this.bos = row.clone();
    }

    public long tokens() {
        return tokens;
    }

    public FeatureStatsData finish(String corpus) {
        float[] density = new float[dSae];
        float[] mean = new float[dSae];
        float[] meanActive = new float[dSae];
        Map<Integer, List<TopContext>> contexts = new HashMap<>();
        for (int j = 0; j < dSae; j++) {
            density[j] = tokens == 0 ? 0f : (float) ((double) fires[j] / tokens);
            mean[j] = tokens == 0 ? 0f : (float) (sum[j] / tokens);
            meanActive[j] = fires[j] == 0 ? 0f : (float) (sum[j] / fires[j]);
            PriorityQueue<TopContext> h = heaps.get(j);
            if (h != null && !h.isEmpty()) {
                List<TopContext> l = new ArrayList<>(h);
                l.sort((a, b) -> Float.compare(b.activation(), a.activation()));
                contexts.put(j, l);
            }
        }
        float[] bosRow = bos == null ? new float[dSae] : bos;
        Integer[] order = new Integer[dSae];
        for (int j = 0; j < dSae; j++) order[j] = j;
        Arrays.sort(order, (a, b) -> Float.compare(bosRow[b], bosRow[a]));
        int n = 0;
        for (int j = 0; j < dSae; j++) if (bosRow[j] > 0) n++;
        int[] bosFeatures = new int[n];
        for (int i = 0; i < n; i++) bosFeatures[i] = order[i];
        return new FeatureStatsData(tokens, corpus, Instant.now(), density, mean, meanActive, max.clone(), bosRow,
                bosFeatures, contexts);
    }
}
