package steering.sae.core;

/** SAELens' run-time input normalisation modes ({@code normalize_activations}). */
public enum Normalization {
    /** x as it is. */
    NONE("none"),
    /** x * sqrt(d_in) / |x| per row; undone on the output. */
    CONSTANT_NORM_RESCALE("constant_norm_rescale"),
    /** (x - mean) / (std + 1e-5) per row (std with Bessel's correction, as torch.std); undone on the output. */
    LAYER_NORM("layer_norm"),
    /**
     * A constant dataset-wide scale factor, folded into the weights at load time when the config states it
     * ({@code norm_scaling_factor}); SAELens likewise skips folding when the factor is unknown.
     */
    EXPECTED_AVERAGE_ONLY_IN("expected_average_only_in");

    private final String saeLensName;

    Normalization(String saeLensName) {
        this.saeLensName = saeLensName;
    }

    public String saeLensName() {
        return saeLensName;
    }

    public static Normalization fromSaeLens(String name) {
        if (name == null || name.isEmpty() || name.equals("null")) return NONE;
        for (Normalization n : values()) if (n.saeLensName.equals(name)) return n;
        throw new IllegalArgumentException("unsupported normalize_activations '" + name
                + "' (supported: none, constant_norm_rescale, layer_norm, expected_average_only_in)");
    }

    /** Whether the output must be mapped back per row with a factor only known at encode time. */
    public boolean perRow() {
        return this == CONSTANT_NORM_RESCALE || this == LAYER_NORM;
    }
}
