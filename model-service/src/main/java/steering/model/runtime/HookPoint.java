package steering.model.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A residual-stream site, named as in TransformerLens: {@code blocks.{L}.hook_resid_{pre|mid|post}}. */
public record HookPoint(int layer, Site site) {

    public enum Site {
        PRE("hook_resid_pre"), MID("hook_resid_mid"), POST("hook_resid_post");

        final String suffix;

        Site(String suffix) {
            this.suffix = suffix;
        }
    }

    private static final Pattern NAME = Pattern.compile("blocks\\.(\\d{1,4})\\.(hook_resid_pre|hook_resid_mid|hook_resid_post)");

    /** Parses a hook name; throws IllegalArgumentException naming the allowed forms and layer range. */
    public static HookPoint parse(String name, int nLayers) {
        // exact: a leading space or a trailing NUL is another name (vector-service and sae-service refuse them too)
        Matcher m = NAME.matcher(name == null ? "" : name);
        if (!m.matches()) {
            throw new IllegalArgumentException("unknown hook point '" + name + "': expected blocks.{L}.hook_resid_pre, "
                    + "blocks.{L}.hook_resid_mid or blocks.{L}.hook_resid_post with L in [0, " + (nLayers - 1) + "]");
        }
        int layer = Integer.parseInt(m.group(1));
        if (layer >= nLayers) {
            throw new IllegalArgumentException("hook point '" + name + "': layer " + layer + " is out of range [0, "
                    + (nLayers - 1) + "]");
        }
        Site site = switch (m.group(2)) {
            case "hook_resid_pre" -> Site.PRE;
            case "hook_resid_mid" -> Site.MID;
            default -> Site.POST;
        };
        return new HookPoint(layer, site);
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
