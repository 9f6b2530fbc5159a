package steering.vector.methods;

/** Small dense-vector helpers in double precision over float storage. */
public final class Vec {
    private Vec() {}

    public static double dot(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths " + a.length + " and " + b.length + " differ");
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    public static double norm(float[] a) {
        return Math.sqrt(dot(a, a));
    }

    /** Norm of row r of a row-major [rows, d] matrix. */
    public static double rowNorm(float[] m, int r, int d) {
        double s = 0;
        for (int i = r * d; i < (r + 1) * d; i++) s += (double) m[i] * m[i];
        return Math.sqrt(s);
    }

    /** a / |a|; throws {@link ZeroVectorException} when |a| is zero (or not finite). */
    public static float[] unit(float[] a) {
        double n = norm(a);
        if (!(n > 0) || !Double.isFinite(n)) throw new ZeroVectorException("the vector has norm " + n + "; it cannot be normalised");
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = (float) (a[i] / n);
        return out;
    }

    public static float[] sub(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths " + a.length + " and " + b.length + " differ");
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] - b[i];
        return out;
    }

    /** a - c * b */
    public static float[] subScaled(float[] a, double c, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths " + a.length + " and " + b.length + " differ");
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = (float) (a[i] - c * b[i]);
        return out;
    }

    public static float[] scale(float[] a, double c) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = (float) (c * a[i]);
        return out;
    }

    public static double cosine(float[] a, float[] b) {
        double na = norm(a), nb = norm(b);
        if (na == 0 || nb == 0) return 0;
        return dot(a, b) / (na * nb);
    }

    /** The mean of equally long vectors. */
    public static float[] mean(java.util.List<float[]> rows) {
        if (rows.isEmpty()) throw new IllegalArgumentException("no rows to average");
        int d = rows.get(0).length;
        double[] acc = new double[d];
        for (float[] r : rows) {
            if (r.length != d) throw new IllegalArgumentException("rows of lengths " + d + " and " + r.length);
            for (int i = 0; i < d; i++) acc[i] += r[i];
        }
        float[] out = new float[d];
        for (int i = 0; i < d; i++) out[i] = (float) (acc[i] / rows.size());
        return out;
    }

    /** A vector that cannot be normalised because it is zero. */
    public static final class ZeroVectorException extends IllegalArgumentException {
        public ZeroVectorException(String message) {
            super(message);
        }
    }
}
