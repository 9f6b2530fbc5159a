package steering.vector.methods;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Multi-output ridge regression in closed form: y = x W + b minimising sum |y - x W - b|^2 + lambda |W|_F^2 (the
 * intercept b is not penalised), solved as (A^T A + lambda D) Theta = A^T Y with A = [X, 1] by Cholesky.
 *
 * <p>Why closed form and not Adam (which SAE-TS used, {@code ft_effects/train.py}): the model is linear and the loss
 * is squared error, so the minimiser is one linear solve of size (d+1). With d = 576 and a few hundred to a few
 * thousand directions that is seconds on a CPU and exact, while Adam needs epochs over the data, a learning-rate
 * schedule and still lands near the same point. With fewer directions than d_model (the CPU budget), plain least
 * squares is underdetermined; the ridge penalty, picked by k-fold cross-validation, is the regulariser that early
 * stopping from a random initialisation only approximates.
 */
public final class Ridge {
    private Ridge() {}

    /** y = x W + b; W row-major [d, m]. */
    public record Model(int d, int m, float[] w, float[] b, double lambda) {
        public float[] predict(float[] x) {
            if (x.length != d) throw new IllegalArgumentException("x has " + x.length + " values, d is " + d);
            double[] acc = new double[m];
            for (int j = 0; j < m; j++) acc[j] = b[j];
            for (int i = 0; i < d; i++) {
                double xi = x[i];
                if (xi == 0) continue;
                int row = i * m;
                for (int j = 0; j < m; j++) acc[j] += xi * w[row + j];
            }
            float[] out = new float[m];
            for (int j = 0; j < m; j++) out[j] = (float) acc[j];
            return out;
        }
    }

    /** The result of {@link #crossValidate}: the chosen penalty and the cross-validated error of every candidate. */
    public record Selection(double lambda, double[] lambdas, double[] sse) {}

    /** Fits on all rows of X [n][d] and Y [n][m] with one penalty. */
    public static Model fit(float[][] x, float[][] y, double lambda) {
        int n = x.length;
        if (n == 0) throw new IllegalArgumentException("no rows to fit");
        int d = x[0].length, m = y[0].length, p = d + 1;
        double[] g = gram(x, allRows(n));
        double[] c = cross(x, y, allRows(n), m);
        double[] l = cholesky(penalised(g, p, lambda));
        solveInPlace(l, p, c, m);
        float[] w = new float[d * m];
        float[] b = new float[m];
        for (int i = 0; i < d; i++) for (int j = 0; j < m; j++) w[i * m + j] = (float) c[i * m + j];
        for (int j = 0; j < m; j++) b[j] = (float) c[d * m + j];
        return new Model(d, m, w, b, lambda);
    }

    /**
     * Picks the penalty with the smallest k-fold cross-validated squared error (folds from a seeded shuffle).
     * The Gram matrix and A^T Y are computed once; each fold subtracts its own rows.
     */
    public static Selection crossValidate(float[][] x, float[][] y, double[] lambdas, int folds, long seed) {
        int n = x.length;
        if (n < 2) throw new IllegalArgumentException("cross-validation needs at least 2 rows, got " + n);
        if (lambdas.length == 0) throw new IllegalArgumentException("no penalties to try");
        int k = Math.max(2, Math.min(folds, n));
        int d = x[0].length, m = y[0].length, p = d + 1;
        List<List<Integer>> parts = folds(n, k, seed);
        double[] gAll = gram(x, allRows(n));
        double[] cAll = cross(x, y, allRows(n), m);
        double[] sse = new double[lambdas.length];
        for (List<Integer> part : parts) {
            int[] rows = part.stream().mapToInt(Integer::intValue).toArray();
            double[] gPart = gram(x, rows);
            double[] cPart = cross(x, y, rows, m);
            double[] g = new double[p * p];
            for (int i = 0; i < g.length; i++) g[i] = gAll[i] - gPart[i];
            double[] c = new double[p * m];
            for (int i = 0; i < c.length; i++) c[i] = cAll[i] - cPart[i];
            for (int li = 0; li < lambdas.length; li++) {
                double[] l = cholesky(penalised(g, p, lambdas[li]));
                // Z = G^-1 A_f^T ([p, nf]); predictions = Z^T C
                int nf = rows.length;
                double[] z = new double[p * nf];
                for (int r = 0; r < nf; r++) {
                    float[] xr = x[rows[r]];
                    for (int i = 0; i < d; i++) z[i * nf + r] = xr[i];
                    z[d * nf + r] = 1;
                }
                solveInPlace(l, p, z, nf);
                for (int r = 0; r < nf; r++) {
                    float[] yr = y[rows[r]];
                    double[] pred = new double[m];
                    for (int i = 0; i < p; i++) {
                        double zi = z[i * nf + r];
                        int row = i * m;
                        for (int j = 0; j < m; j++) pred[j] += zi * c[row + j];
                    }
                    double e = 0;
                    for (int j = 0; j < m; j++) {
                        double diff = yr[j] - pred[j];
                        e += diff * diff;
                    }
                    sse[li] += e;
                }
            }
        }
        int best = 0;
        for (int li = 1; li < lambdas.length; li++) if (sse[li] < sse[best]) best = li;
        return new Selection(lambdas[best], lambdas.clone(), sse);
    }

    /** The default penalty grid: {1e-4, 1e-3, ..., 1e2} times the mean diagonal of X^T X. */
    public static double[] defaultLambdas(float[][] x) {
        int d = x[0].length;
        double diag = 0;
        for (float[] r : x) for (float v : r) diag += (double) v * v;
        diag /= d;
        if (!(diag > 0)) diag = 1;
        double[] out = new double[7];
        for (int i = 0; i < 7; i++) out[i] = diag * Math.pow(10, i - 4);
        return out;
    }

    static List<List<Integer>> folds(int n, int k, long seed) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < n; i++) idx.add(i);
        java.util.Collections.shuffle(idx, new Random(seed));
        List<List<Integer>> out = new ArrayList<>();
        for (int f = 0; f < k; f++) out.add(new ArrayList<>());
        for (int i = 0; i < n; i++) out.get(i % k).add(idx.get(i));
        return out;
    }

    private static int[] allRows(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    /** A^T A over the given rows, A = [X, 1]; row-major [p, p]. */
    static double[] gram(float[][] x, int[] rows) {
        int d = x[0].length, p = d + 1;
        double[] g = new double[p * p];
        double[] a = new double[p];
        for (int r : rows) {
            float[] xr = x[r];
            for (int i = 0; i < d; i++) a[i] = xr[i];
            a[d] = 1;
            for (int i = 0; i < p; i++) {
                double ai = a[i];
                if (ai == 0) continue;
                int row = i * p;
                for (int j = i; j < p; j++) g[row + j] += ai * a[j];
            }
        }
        for (int i = 0; i < p; i++) for (int j = 0; j < i; j++) g[i * p + j] = g[j * p + i];
        return g;
    }

    /** A^T Y over the given rows; row-major [p, m]. */
    static double[] cross(float[][] x, float[][] y, int[] rows, int m) {
        int d = x[0].length, p = d + 1;
        double[] c = new double[p * m];
        for (int r : rows) {
            float[] xr = x[r], yr = y[r];
            if (yr.length != m) throw new IllegalArgumentException("rows of Y have different widths");
            for (int i = 0; i <= d; i++) {
                double ai = i < d ? xr[i] : 1;
                if (ai == 0) continue;
                int row = i * m;
                for (int j = 0; j < m; j++) c[row + j] += ai * yr[j];
            }
        }
        return c;
    }

    private static double[] penalised(double[] g, int p, double lambda) {
        if (!(lambda >= 0) || !Double.isFinite(lambda)) throw new IllegalArgumentException("lambda must be finite and >= 0, got " + lambda);
        double[] out = g.clone();
        for (int i = 0; i < p - 1; i++) out[i * p + i] += lambda;
        return out;
    }

    /** Lower-triangular L with L L^T = a (row-major [p, p]); a tiny jitter keeps semi-definite systems solvable. */
    static double[] cholesky(double[] a) {
        int p = (int) Math.round(Math.sqrt(a.length));
        double maxDiag = 0;
        for (int i = 0; i < p; i++) maxDiag = Math.max(maxDiag, Math.abs(a[i * p + i]));
        double jitter = 1e-12 * Math.max(maxDiag, 1e-300);
        double[] l = new double[p * p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j <= i; j++) {
                double s = a[i * p + j];
                for (int k = 0; k < j; k++) s -= l[i * p + k] * l[j * p + k];
                if (i == j) {
                    if (s <= jitter) s = jitter; // the intercept-only direction of a rank-deficient system
                    l[i * p + i] = Math.sqrt(s);
                } else {
                    l[i * p + j] = s / l[j * p + j];
                }
            }
        }
        return l;
    }

    /** Solves L L^T Z = B in place; B row-major [p, cols]. */
    static void solveInPlace(double[] l, int p, double[] b, int cols) {
        for (int i = 0; i < p; i++) {
            int row = i * cols;
            for (int k = 0; k < i; k++) {
                double lik = l[i * p + k];
                if (lik == 0) continue;
                int rk = k * cols;
                for (int j = 0; j < cols; j++) b[row + j] -= lik * b[rk + j];
            }
            double inv = 1.0 / l[i * p + i];
            for (int j = 0; j < cols; j++) b[row + j] *= inv;
        }
        for (int i = p - 1; i >= 0; i--) {
            int row = i * cols;
            for (int k = i + 1; k < p; k++) {
                double lki = l[k * p + i];
                if (lki == 0) continue;
                int rk = k * cols;
                for (int j = 0; j < cols; j++) b[row + j] -= lki * b[rk + j];
            }
            double inv = 1.0 / l[i * p + i];
            for (int j = 0; j < cols; j++) b[row + j] *= inv;
        }
    }

    /** 1 - SSE / SST, SST around the given per-output means (the training part's, for held-out data). */
    public static double r2(List<float[]> truth, List<float[]> predicted, float[] means) {
        double sse = 0, sst = 0;
        for (int r = 0; r < truth.size(); r++) {
            float[] t = truth.get(r), p = predicted.get(r);
            for (int j = 0; j < t.length; j++) {
                double e = t[j] - p[j], c = t[j] - means[j];
                sse += e * e;
                sst += c * c;
            }
        }
        return sst > 0 ? 1 - sse / sst : Double.NaN;
    }

    /** Mean over rows of cos(truth_r, predicted_r). */
    public static double meanCosine(List<float[]> truth, List<float[]> predicted) {
        if (truth.isEmpty()) return Double.NaN;
        double s = 0;
        for (int r = 0; r < truth.size(); r++) s += Vec.cosine(truth.get(r), predicted.get(r));
        return s / truth.size();
    }
}
