package steering.vector.methods;

/** Adam (Kingma and Ba 2015) over one parameter vector, with bias correction. */
public final class Adam {
    private final double learningRate, beta1, beta2, epsilon;
    private final double[] m, v;
    private int t;

    public Adam(int size, double learningRate) {
        this(size, learningRate, 0.9, 0.999, 1e-8);
    }

    public Adam(int size, double learningRate, double beta1, double beta2, double epsilon) {
        this.learningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.m = new double[size];
        this.v = new double[size];
    }

    /** One descent step on {@code params} along {@code gradient} (of the loss to minimise). */
    public void step(double[] params, double[] gradient) {
        t++;
        double c1 = 1 - Math.pow(beta1, t);
        double c2 = 1 - Math.pow(beta2, t);
        for (int i = 0; i < params.length; i++) {
            m[i] = beta1 * m[i] + (1 - beta1) * gradient[i];
            v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i];
            params[i] -= learningRate * (m[i] / c1) / (Math.sqrt(v[i] / c2) + epsilon);
        }
    }
}
