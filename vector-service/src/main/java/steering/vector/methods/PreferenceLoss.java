package steering.vector.methods;

/**
 * The preference objectives a trained steering vector minimises, for one pair at a time, with their gradients with
 * respect to the vector. Inputs are what model-service's ScoreGradients returns for a completion: its total
 * log-prob under the steered model and d logp / d v, plus the unsteered log-prob and the completion's length.
 * Nothing here talks to a model, so the formulas are tested on their own.
 */
public final class PreferenceLoss {
    private PreferenceLoss() {}

    /**
     * One completion scored under steering.
     *
     * @param logprob   total log-prob of the completion with the vector applied (at the pair's multiplier)
     * @param gradient  d logprob / d v ([d])
     * @param tokens    the completion's length in tokens
     * @param reference total log-prob under the unsteered model
     */
    public record Scored(double logprob, float[] gradient, int tokens, double reference) {}

    public record Value(double loss, double[] gradient) {}

    /**
     * BiPO (Cao et al. 2024) at direction d = +1 or -1 (the vector added or subtracted; both completions scored
     * with multiplier d): z = d beta [(logp(y+) - ref(y+)) - (logp(y-) - ref(y-))], loss = -log sigmoid(z).
     */
    public static Value bipo(Scored positive, Scored negative, int direction, double beta) {
        double z = direction * beta * ((positive.logprob - positive.reference) - (negative.logprob - negative.reference));
        double dLossDz = -sigmoid(-z);
        double[] g = new double[positive.gradient.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = dLossDz * direction * beta * (positive.gradient[i] - (double) negative.gradient[i]);
        }
        return new Value(softplus(-z), g);
    }

    /**
     * RePS-style reference-free objective (Wu et al. 2025, SimPO-like length-normalised log-probs), the suppression
     * side with the negated factor: loss = -log sigmoid(D+) - log sigmoid(D-), where
     * D+ = b+ logp_{+a}(y+)/|y+| - logp_{+a}(y-)/|y-| with b+ = max(ref(y-) - ref(y+), 1), and
     * D- = b- logp_{-a}(y-)/|y-| - logp_{-a}(y+)/|y+| with b- = max(ref(y+) - ref(y-), 1).
     *
     * @param positivePlus  y+ scored with multiplier +a; negativePlus y- with +a
     * @param positiveMinus y+ scored with multiplier -a; negativeMinus y- with -a
     */
    public static Value repsNegatedFactor(Scored positivePlus, Scored negativePlus, Scored positiveMinus, Scored negativeMinus) {
        double bPlus = Math.max(negativePlus.reference - positivePlus.reference, 1);
        double bMinus = Math.max(positivePlus.reference - negativePlus.reference, 1);
        double dPlus = bPlus * perToken(positivePlus) - perToken(negativePlus);
        double dMinus = bMinus * perToken(negativeMinus) - perToken(positiveMinus);
        double wPlus = -sigmoid(-dPlus);
        double wMinus = -sigmoid(-dMinus);
        double[] g = new double[positivePlus.gradient.length];
        for (int i = 0; i < g.length; i++) {
            g[i] = wPlus * (bPlus * positivePlus.gradient[i] / positivePlus.tokens - negativePlus.gradient[i] / (double) negativePlus.tokens)
                    + wMinus * (bMinus * negativeMinus.gradient[i] / negativeMinus.tokens - positiveMinus.gradient[i] / (double) positiveMinus.tokens);
        }
        return new Value(softplus(-dPlus) + softplus(-dMinus), g);
    }

    private static double perToken(Scored s) {
        return s.logprob / s.tokens;
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    /** log(1 + e^x) without overflow. */
    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }
}
