package steering.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Inter-token gaps of streams over a time window, and their percentiles. */
final class Latency {
    private Latency() {}

    /**
     * Gaps between consecutive tokens of each stream whose later token falls in [from, to] (nanosecond clock).
     *
     * @param streams each stream's token timestamps, in order
     * @return the gaps in milliseconds, sorted
     */
    static double[] gapsMs(List<long[]> streams, long from, long to) {
        List<Double> gaps = new ArrayList<>();
        for (long[] times : streams) {
            for (int i = 1; i < times.length; i++) {
                if (times[i] >= from && times[i] <= to) gaps.add((times[i] - times[i - 1]) / 1e6);
            }
        }
        double[] out = gaps.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(out);
        return out;
    }

    /** Nearest-rank percentile of sorted values (p in 0..100); NaN when there are none. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        if (n == 0) return Double.NaN;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
