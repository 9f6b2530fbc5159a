package steering.vector.methods;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The preference losses' gradients against central differences, with each completion's log-prob a smooth function
 * of the vector (logp_i(v) = c_i + a_i.(m v) - |m v|^2 / 2, m the completion's multiplier) whose gradient is known.
 */
class PreferenceLossTest {
    static final int D = 6;

    record Completion(double c, double[] a, int tokens, double multiplier) {
        double logprob(double[] v) {
            double dot = 0, sq = 0;
            for (int i = 0; i < D; i++) {
                dot += a[i] * multiplier * v[i];
                sq += multiplier * v[i] * multiplier * v[i];
            }
            return c + dot - sq / 2;
        }

        PreferenceLoss.Scored scored(double[] v) {
            float[] g = new float[D];
            for (int i = 0; i < D; i++) g[i] = (float) (multiplier * a[i] - multiplier * multiplier * v[i]);
            return new PreferenceLoss.Scored(logprob(v), g, tokens, logprob(new double[D]));
        }
    }

    static Completion completion(Random r, int tokens, double multiplier) {
        double[] a = new double[D];
        for (int i = 0; i < D; i++) a[i] = r.nextGaussian();
        return new Completion(-5 - 10 * r.nextDouble(), a, tokens, multiplier);
    }

    static void assertGradient(Function<double[], PreferenceLoss.Value> f, double[] v) {
        double[] g = f.apply(v).gradient();
        for (int i = 0; i < D; i++) {
            double h = 1e-5;
            double[] plus = v.clone(), minus = v.clone();
            plus[i] += h;
            minus[i] -= h;
            double fd = (f.apply(plus).loss() - f.apply(minus).loss()) / (2 * h);
            // the analytic gradient is in float32 (as ScoreGradients sends it)
            assertEquals(fd, g[i], 1e-5 + 1e-5 * Math.abs(fd), "coordinate " + i);
        }
    }

    @Test
    void bipoGradientMatchesFiniteDifferencesAtBothDirections() {
        Random r = new Random(1);
        double[] v = new double[D];
        for (int i = 0; i < D; i++) v[i] = 0.3 * r.nextGaussian();
        for (int d : new int[]{1, -1}) {
            Completion pos = completion(r, 5, d), neg = completion(r, 7, d);
            assertGradient(x -> PreferenceLoss.bipo(pos.scored(x), neg.scored(x), d, 0.5), v);
        }
        // at the zero vector the steered model is the reference: loss log 2
        Completion pos = completion(r, 3, 1), neg = completion(r, 3, 1);
        assertEquals(Math.log(2), PreferenceLoss.bipo(pos.scored(new double[D]), neg.scored(new double[D]), 1, 0.1).loss(), 1e-12);
    }

    @Test
    void repsGradientMatchesFiniteDifferencesAndItsWeightsFollowTheReference() {
        Random r = new Random(2);
        double[] v = new double[D];
        for (int i = 0; i < D; i++) v[i] = 0.3 * r.nextGaussian();
        double a = 2.0;
        Completion posPlus = completion(r, 4, a);
        Completion negPlus = completion(r, 9, a);
        // the same completions under the negated factor: same c and a, multiplier -a
        Completion posMinus = new Completion(posPlus.c(), posPlus.a(), 4, -a);
        Completion negMinus = new Completion(negPlus.c(), negPlus.a(), 9, -a);
        assertGradient(x -> PreferenceLoss.repsNegatedFactor(posPlus.scored(x), negPlus.scored(x), posMinus.scored(x), negMinus.scored(x)), v);
        // lowering the loss means raising the positive completion under +a: one gradient step does
        double[] g = PreferenceLoss.repsNegatedFactor(posPlus.scored(v), negPlus.scored(v), posMinus.scored(v), negMinus.scored(v)).gradient();
        double[] next = v.clone();
        for (int i = 0; i < D; i++) next[i] -= 1e-3 * g[i];
        double before = PreferenceLoss.repsNegatedFactor(posPlus.scored(v), negPlus.scored(v), posMinus.scored(v), negMinus.scored(v)).loss();
        double after = PreferenceLoss.repsNegatedFactor(posPlus.scored(next), negPlus.scored(next), posMinus.scored(next), negMinus.scored(next)).loss();
        assertTrue(after < before, before + " -> " + after);
    }

    @Test
    void adamMinimisesAQuadratic() {
        double[] x = {3, -2, 0.5};
        Adam adam = new Adam(3, 0.1);
        for (int t = 0; t < 500; t++) {
            double[] g = {2 * (x[0] - 1), 2 * (x[1] + 1), 2 * x[2]};
            adam.step(x, g);
        }
        assertEquals(1, x[0], 1e-3);
        assertEquals(-1, x[1], 1e-3);
        assertEquals(0, x[2], 1e-3);
    }
}
