package steering.sae.training;

import steering.sae.corpus.TokenWindows.Window;

import java.util.List;

/**
 * Captured activations of a list of windows at one hook: the non-BOS tokens' rows, window after window.
 *
 * @param data     [rows, d] row-major
 * @param rowStart rowStart[w] = the first row of window w; rowStart[windows] = rows
 * @param bosRow   the BOS token's activation [d] (identical for every window), or null when there is no BOS
 */
public record ActivationSet(List<Window> windows, float[] data, int rows, int d, int[] rowStart, float[] bosRow) {

    public int rowsOf(int window) {
        return rowStart[window + 1] - rowStart[window];
    }

    /** Token position of a row inside its window. */
    public int positionOf(int window, int row) {
        return row - rowStart[window] + (windows.get(window).hasBos() ? 1 : 0);
    }

    /** Rows of one window, copied. */
    public float[] windowRows(int window) {
        float[] out = new float[rowsOf(window) * d];
        System.arraycopy(data, rowStart[window] * d, out, 0, out.length);
        return out;
    }

    /** The per-dimension mean over all rows. */
    public float[] mean() {
        double[] acc = new double[d];
        for (int r = 0; r < rows; r++) for (int i = 0; i < d; i++) acc[i] += data[r * d + i];
        float[] out = new float[d];
        for (int i = 0; i < d; i++) out[i] = (float) (acc[i] / Math.max(1, rows));
        return out;
    }
}
