package steering.common.steer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A residual-stream site, named as in TransformerLens: {@code blocks.{L}.hook_resid_{pre|mid|post}}. The mesh's one
 * hook-name grammar: model-service resolves hooks with it, sae-service and vector-service check names with it
 * before they reach a model, and GGUF export maps it onto llama.cpp's layers.
 */
public record HookPoint(int layer, Site site) {

    public enum Site {
        PRE("hook_resid_pre"), MID("hook_resid_mid"), POST("hook_resid_post");

        public final String suffix;

        Site(String suffix) {
            this.suffix = suffix;
        }
    }

    /** The allowed forms, for error messages. */
    public static final String GRAMMAR = "blocks.{L}.hook_resid_pre|hook_resid_mid|hook_resid_post";

    private static final Pattern NAME = Pattern.compile("blocks\\.(\\d{1,4})\\.(hook_resid_pre|hook_resid_mid|hook_resid_post)");

    /**
     * Parses a hook name of any layer; throws IllegalArgumentException naming the allowed forms. Exact: a leading
     * space or a trailing NUL makes another name.
     */
    public static HookPoint parse(String name) {
        Matcher m = NAME.matcher(name == null ? "" : name);
        if (!m.matches()) throw new IllegalArgumentException("'" + name + "' is not a hook name (" + GRAMMAR + ")");
        return of(m);
    }

    /** Parses a hook name of a model with {@code nLayers} blocks; the message names the forms and the layer range. */
    public static HookPoint parse(String name, int nLayers) {
        Matcher m = NAME.matcher(name == null ? "" : name);
        if (!m.matches()) {
            throw new IllegalArgumentException("unknown hook point '" + name + "': expected blocks.{L}.hook_resid_pre, "
                    + "blocks.{L}.hook_resid_mid or blocks.{L}.hook_resid_post with L in [0, " + (nLayers - 1) + "]");
        }
        HookPoint h = of(m);
        if (h.layer >= nLayers) {
            throw new IllegalArgumentException("hook point '" + name + "': layer " + h.layer + " is out of range [0, "
                    + (nLayers - 1) + "]");
        }
        return h;
    }

    /** True when {@code name} follows the grammar (of any layer). */
    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** The allowed forms for a model with {@code nLayers} blocks, for error messages. */
    public static String grammar(int nLayers) {
        return "blocks.{0.." + (nLayers - 1) + "}.hook_resid_pre|hook_resid_mid|hook_resid_post";
    }

    private static HookPoint of(Matcher m) {
        Site site = switch (m.group(2)) {
            case "hook_resid_pre" -> Site.PRE;
            case "hook_resid_mid" -> Site.MID;
            default -> Site.POST;
        };
        return new HookPoint(Integer.parseInt(m.group(1)), site);
    }

    public static List<String> allNames(int nLayers) {
        List<String> names = new ArrayList<>(3 * nLayers);
        for (int l = 0; l < nLayers; l++) {
            for (Site s : Site.values()) names.add(new HookPoint(l, s).name());
        }
        return names;
    }

    /** Index of this site in forward order: 3 * layer + site. */
    public int ordinal() {
        return 3 * layer + site.ordinal();
    }

    public String name() {
        return "blocks." + layer + "." + site.suffix;
    }

    @Override
    public String toString() {
        return name();
    }
}
