package steering.sae.core;

import steering.v1.SaeArchitecture;

/** The encoder's activation function. */
public enum Architecture {
    /** ReLU(pre). */
    STANDARD("standard"),
    /** ReLU(pre) * 1[pre > threshold], per-feature threshold. */
    JUMPRELU("jumprelu"),
    /** the k largest pre-activations of each row (then ReLU). */
    TOPK("topk"),
    /** the k * n largest of a batch of n rows; with a threshold (how SAELens saves it) it encodes like JumpReLU. */
    BATCHTOPK("batchtopk");

    private final String saeLensName;

    Architecture(String saeLensName) {
        this.saeLensName = saeLensName;
    }

    public String saeLensName() {
        return saeLensName;
    }

    public static Architecture fromSaeLens(String name) {
        for (Architecture a : values()) if (a.saeLensName.equals(name)) return a;
        throw new IllegalArgumentException("unsupported SAE architecture '" + name
                + "' (supported: standard, jumprelu, topk, batchtopk)");
    }

    public SaeArchitecture toWire() {
        return switch (this) {
            case STANDARD -> SaeArchitecture.SAE_ARCHITECTURE_STANDARD;
            case JUMPRELU -> SaeArchitecture.SAE_ARCHITECTURE_JUMPRELU;
            case TOPK -> SaeArchitecture.SAE_ARCHITECTURE_TOPK;
            case BATCHTOPK -> SaeArchitecture.SAE_ARCHITECTURE_BATCHTOPK;
        };
    }

    public boolean usesK() {
        return this == TOPK || this == BATCHTOPK;
    }
}
