package steering.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import steering.common.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Renders the stored results of `steer reproduce-fgaa` into results.md (tables: best behaviour x coherence per task
 * and method, the scores behind it, the target features, samples) and plots.html (behaviour, coherence and their
 * product against scale, one row of inline SVG charts per task; no scripts, no network).
 */
final class FgaaReport {
    static final String[] COLOURS = {"#1f77b4", "#17becf", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f"};
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One method's sweep on one task: the unsteered point at scale 0 followed by the method's scales. */
    record Curve(String method, double[] scale, double[] behaviour, double[] coherence, double[] product, double[] productSe,
                 List<List<String>> samples) {
        /** The scale with the largest behaviour whose coherence keeps at least `fraction` of the unsteered one (-1: none). */
        int bestBehaviourAbove(double fraction) {
            int b = -1;
            for (int i = 1; i < scale.length; i++) {
                if (coherence[i] >= fraction * coherence[0] && (b < 0 || behaviour[i] > behaviour[b])) b = i;
            }
            return b;
        }

        /** The nonzero scale with the largest product; -1 when the method was not evaluated on this task. */
        int best() {
            int b = -1;
            // index 0 is the unsteered point; the method's own points follow (a prompting baseline's at scale 0)
            for (int i = 1; i < scale.length; i++) if (b < 0 || product[i] > product[b]) b = i;
            return b;
        }
    }

    record TaskResult(String name, String criterion, JsonNode raw, Map<String, Curve> curves, double[] unsteered) {}

    private FgaaReport() {}

    static void render(JsonNode tasks, Path results, Path out) throws IOException {
        List<TaskResult> done = new ArrayList<>();
        for (JsonNode t : tasks.get("tasks")) {
            Path f = results.resolve(t.get("name").asText() + ".json");
            if (Files.exists(f)) done.add(parse(JSON.readTree(f.toFile())));
        }
        JsonNode setup = Files.exists(results.resolve("setup.json")) ? JSON.readTree(results.resolve("setup.json").toFile()) : null;
        AtomicFiles.writeString(out.resolve("results.md"), markdown(done, setup));
        AtomicFiles.writeString(out.resolve("plots.html"), html(done, setup));
    }

    static TaskResult parse(JsonNode r) {
        JsonNode points = r.get("evaluation").get("points");
        double[] unsteered = null;
        double unsteeredSe = Double.NaN;
        Map<String, List<JsonNode>> byMethod = new LinkedHashMap<>();
        for (String m : ReproduceFgaa.METHODS) byMethod.put(m, new ArrayList<>());
        for (JsonNode p : points) {
            String label = p.get("label").asText();
            if (label.equals("unsteered")) {
                unsteered = new double[] {p.get("behaviour").asDouble(), p.get("coherence").asDouble(), p.get("product").asDouble()};
                unsteeredSe = productStandardError(p);
            } else if (byMethod.containsKey(label)) {
                byMethod.get(label).add(p);
            }
        }
        if (unsteered == null) throw new IllegalArgumentException(r.get("task").asText() + ": no unsteered point");
        Map<String, Curve> curves = new LinkedHashMap<>();
        for (var e : byMethod.entrySet()) {
            List<JsonNode> ps = new ArrayList<>(e.getValue());
            ps.sort((a, b) -> Double.compare(a.get("scale").asDouble(), b.get("scale").asDouble()));
            int n = ps.size() + 1;
            double[] s = new double[n], b = new double[n], c = new double[n], p = new double[n], se = new double[n];
            se[0] = unsteeredSe;
            List<List<String>> samples = new ArrayList<>();
            b[0] = unsteered[0];
            c[0] = unsteered[1];
            p[0] = unsteered[2];
            samples.add(List.of());
            for (int i = 1; i < n; i++) {
                JsonNode q = ps.get(i - 1);
                s[i] = q.get("scale").asDouble();
                b[i] = q.get("behaviour").asDouble();
                c[i] = q.get("coherence").asDouble();
                p[i] = q.get("product").asDouble();
                se[i] = productStandardError(q);
                List<String> texts = new ArrayList<>();
                q.get("samples").forEach(x -> texts.add(x.asText()));
                samples.add(texts);
            }
            curves.put(e.getKey(), new Curve(e.getKey(), s, b, c, p, se, samples));
        }
        return new TaskResult(r.get("task").asText(), r.get("criterion").asText(), r, curves, unsteered);
    }

    /**
     * Standard error of mean(behaviour) x mean(coherence) from the per-sample scores (first-order: the two means'
     * errors combined as independent); NaN for results stored before the scores were kept.
     */
    static double productStandardError(JsonNode point) {
        JsonNode b = point.path("sample_behaviour"), c = point.path("sample_coherence");
        if (b.size() < 2 || c.size() != b.size()) return Double.NaN;
        double mb = point.path("behaviour").asDouble(), mc = point.path("coherence").asDouble();
        double seB = standardError(b), seC = standardError(c);
        return Math.sqrt(mc * mc * seB * seB + mb * mb * seC * seC);
    }

    private static double standardError(JsonNode values) {
        double sum = 0, sq = 0;
        int n = values.size();
        for (JsonNode v : values) sum += v.asDouble();
        double mean = sum / n;
        for (JsonNode v : values) sq += (v.asDouble() - mean) * (v.asDouble() - mean);
        return Math.sqrt(sq / (n - 1) / n);
    }

    private static String withError(double value, double se) {
        return Double.isNaN(se) ? f3(value) : f3(value) + " ± " + f3(se);
    }

    static String markdown(List<TaskResult> tasks, JsonNode setup) {
        StringBuilder md = new StringBuilder();
        md.append("# FGAA comparison reproduced: results\n\n");
        md.append("Generated by `steer reproduce-fgaa` from the JSON in `results/` (regenerate everything with "
                + "`scripts/fgaa/reproduce.sh`; re-render only with `steer reproduce-fgaa --render-only`). How and why: "
                + "[README.md](README.md). Plots of behaviour, coherence and their product against scale: [plots.html](plots.html).\n\n");
        if (tasks.isEmpty()) return md.append("No task has a result yet.\n").toString();
        md.append(setupText(tasks.get(0).raw(), setup, tasks)).append("\n\n");

        md.append("## Best behaviour x coherence per task\n\n");
        md.append("Max over the nonzero scales of mean behaviour x mean coherence (the scale in parentheses); the best method of "
                + "each task in bold. `unsteered` is the same product at scale 0. ± is the standard error from the per-sample "
                + "scores, where the result has them.\n\n");
        md.append("| task | unsteered |");
        for (String m : ReproduceFgaa.METHODS) md.append(' ').append(m).append(" |");
        md.append("\n|---|---|");
        for (int i = 0; i < ReproduceFgaa.METHODS.length; i++) md.append("---|");
        md.append('\n');
        int[] wins = new int[ReproduceFgaa.METHODS.length];
        double[] sums = new double[ReproduceFgaa.METHODS.length];
        int[] counts = new int[ReproduceFgaa.METHODS.length];
        double unsteeredSum = 0;
        for (TaskResult t : tasks) {
            int winner = winner(t);
            if (winner >= 0) wins[winner]++;
            unsteeredSum += t.unsteered()[2];
            md.append("| ").append(t.name()).append(" | ").append(withError(t.unsteered()[2], t.curves().get(ReproduceFgaa.METHODS[0]).productSe()[0])).append(" |");
            for (int m = 0; m < ReproduceFgaa.METHODS.length; m++) {
                Curve c = t.curves().get(ReproduceFgaa.METHODS[m]);
                int b = c.best();
                if (b >= 0) {
                    sums[m] += c.product()[b];
                    counts[m]++;
                }
                String cell = b < 0 ? "-" : withError(c.product()[b], c.productSe()[b]) + " (" + num(c.scale()[b]) + ")";
                md.append(' ').append(m == winner ? "**" + cell + "**" : cell).append(" |");
            }
            md.append('\n');
        }
        md.append("| mean | ").append(f3(unsteeredSum / tasks.size())).append(" |");
        for (int m = 0; m < sums.length; m++) md.append(' ').append(counts[m] == 0 ? "-" : f3(sums[m] / counts[m])).append(" |");
        md.append("\n| tasks won | |");
        for (int w : wins) md.append(' ').append(w).append(" |");
        md.append("\n\n");

        md.append("## Behaviour and coherence at each method's best scale\n\n");
        md.append("behaviour / coherence; unsteered at scale 0 first.\n\n| task | unsteered |");
        for (String m : ReproduceFgaa.METHODS) md.append(' ').append(m).append(" |");
        md.append("\n|---|---|");
        for (int i = 0; i < ReproduceFgaa.METHODS.length; i++) md.append("---|");
        md.append('\n');
        for (TaskResult t : tasks) {
            md.append("| ").append(t.name()).append(" | ").append(f3(t.unsteered()[0])).append(" / ").append(f3(t.unsteered()[1])).append(" |");
            for (String m : ReproduceFgaa.METHODS) {
                Curve c = t.curves().get(m);
                int b = c.best();
                md.append(' ').append(b < 0 ? "-" : f3(c.behaviour()[b]) + " / " + f3(c.coherence()[b])).append(" |");
            }
            md.append('\n');
        }
        md.append("\n## Best behaviour while coherence stays at half the unsteered level or above\n\n");
        md.append("The product above charges every drop in log-prob coherence, and that measure also falls when the text "
                + "stays fluent but moves to an unlikely topic (see README.md). This view asks instead how far each method "
                + "moves the behaviour before coherence halves: the largest behaviour over the scales whose coherence is at "
                + "least 0.5 x the unsteered coherence (scale in parentheses; `-` when no scale qualifies).\n\n| task | unsteered |");
        for (String m : ReproduceFgaa.METHODS) md.append(' ').append(m).append(" |");
        md.append("\n|---|---|");
        for (int i = 0; i < ReproduceFgaa.METHODS.length; i++) md.append("---|");
        md.append('\n');
        int[] behaviourWins = new int[ReproduceFgaa.METHODS.length];
        for (TaskResult t : tasks) {
            md.append("| ").append(t.name()).append(" | ").append(f3(t.unsteered()[0])).append(" |");
            int winner = -1;
            double top = Double.NEGATIVE_INFINITY;
            for (int m = 0; m < ReproduceFgaa.METHODS.length; m++) {
                Curve c = t.curves().get(ReproduceFgaa.METHODS[m]);
                int b = c.bestBehaviourAbove(0.5);
                if (b >= 0 && c.behaviour()[b] > top) {
                    top = c.behaviour()[b];
                    winner = m;
                }
            }
            if (winner >= 0) behaviourWins[winner]++;
            for (int m = 0; m < ReproduceFgaa.METHODS.length; m++) {
                Curve c = t.curves().get(ReproduceFgaa.METHODS[m]);
                int b = c.bestBehaviourAbove(0.5);
                String cell = b < 0 ? "-" : f3(c.behaviour()[b]) + " (" + num(c.scale()[b]) + ")";
                md.append(' ').append(m == winner ? "**" + cell + "**" : cell).append(" |");
            }
            md.append('\n');
        }
        md.append("| tasks won | |");
        for (int w : behaviourWins) md.append(' ').append(w).append(" |");
        md.append("\n");

        md.append("\n## Target features\n\n");
        md.append("SAE decoder steering and SAE-TS aim at the feature FGAA ranks first for the task (the papers hand-picked "
                + "theirs on Neuronpedia); FGAA uses all its picks. The context is the feature's strongest activation in the "
                + "SAE's statistics corpus, the token in [[ ]].\n\n");
        md.append("| task | target feature | density | strongest context | FGAA's features (weight) |\n|---|---|---|---|---|\n");
        for (TaskResult t : tasks) {
            JsonNode stats = t.raw().path("target_feature_stats").path("features").path(0);
            String context = stats.path("top_contexts").path(0).path("text").asText("").replace('\n', ' ').replace("|", "\\|");
            StringBuilder picks = new StringBuilder();
            for (JsonNode v : t.raw().get("vectors")) {
                if (!v.path("label").asText().equals("FGAA")) continue;
                for (JsonNode f : v.path("features")) {
                    if (picks.length() > 0) picks.append(", ");
                    picks.append(f.path("feature").asInt()).append(" (").append(String.format(Locale.ROOT, "%.2g", f.path("weight").asDouble())).append(')');
                }
            }
            md.append("| ").append(t.name()).append(" | ").append(t.raw().path("target_feature").asInt()).append(" | ")
                    .append(String.format(Locale.ROOT, "%.4f", stats.path("density").asDouble())).append(" | ")
                    .append(context.isEmpty() ? "" : "`" + context.replace("`", "'") + "`").append(" | ").append(picks).append(" |\n");
        }
        md.append("\n## Samples at each method's best scale\n\n");
        for (TaskResult t : tasks) {
            md.append("<details><summary>").append(t.name()).append(": ").append(escape(t.criterion())).append("</summary>\n\n");
            for (String m : ReproduceFgaa.METHODS) {
                Curve c = t.curves().get(m);
                int b = c.best();
                if (b < 0) continue;
                md.append("**").append(m).append("** (scale ").append(num(c.scale()[b])).append(")\n\n");
                List<String> s = c.samples().get(b);
                for (int i = 0; i < Math.min(3, s.size()); i++) {
                    md.append("- I think").append(escape(s.get(i).replace('\n', ' '))).append('\n');
                }
                md.append('\n');
            }
            md.append("</details>\n\n");
        }
        return md.toString();
    }

    /** The method with the largest best product (ties go to the earlier method); -1 when none was evaluated. */
    static int winner(TaskResult t) {
        int w = -1;
        double best = Double.NEGATIVE_INFINITY;
        for (int m = 0; m < ReproduceFgaa.METHODS.length; m++) {
            Curve c = t.curves().get(ReproduceFgaa.METHODS[m]);
            if (c.best() < 0) continue;
            double p = c.product()[c.best()];
            if (p > best) {
                best = p;
                w = m;
            }
        }
        return w;
    }

    private static String setupText(JsonNode first, JsonNode setup, List<TaskResult> tasks) {
        StringBuilder s = new StringBuilder();
        double wall = 0;
        for (TaskResult t : tasks) wall += t.raw().path("wall_seconds").asDouble();
        List<String> scales = new ArrayList<>();
        for (double x : tasks.get(0).curves().get(ReproduceFgaa.METHODS[0]).scale()) scales.add(num(x));
        if (setup != null) {
            JsonNode sae = setup.path("sae"), approx = setup.path("approximator");
            s.append(String.format(Locale.ROOT, "Model `%s`. SAE `%s` at `%s` (d_sae %d, TopK k=%d, variance explained %.3f). "
                            + "Effect approximator `%s` (%d directions, held-out cosine %.3f, bias alone %.3f). ",
                    setup.path("model").path("model_id").asText(), sae.path("id").asText(), sae.path("hook").path("name").asText(),
                    sae.path("d_sae").asInt(), sae.path("k").asInt(), sae.path("training_metrics").path("variance_explained").asDouble(),
                    approx.path("id").asText(), approx.path("metrics").path("directions").asInt(),
                    approx.path("metrics").path("held_out_cosine").asDouble(), approx.path("metrics").path("held_out_cosine_bias_only").asDouble()));
        }
        s.append(String.format(Locale.ROOT, "Prompt \"%s\"; %d samples of %d tokens per (method, scale), top-k 50, top-p 0.3, "
                        + "temperature 1, seeds 0..%d (the same at every scale); scales %s (unit-norm vectors, raw residual units). "
                        + "Behaviour: %s judge on the task's criterion; coherence: exp(mean log-prob per token) of the sample "
                        + "under the unsteered model. %d tasks, %.0f min of evaluation.",
                first.path("prompt").asText(), first.path("samples").asInt(), first.path("max_tokens").asInt(),
                first.path("samples").asInt() - 1, String.join(", ", scales),
                first.path("evaluation").path("judge").asText(), tasks.size(), wall / 60));
        return s.toString();
    }

    static String html(List<TaskResult> tasks, JsonNode setup) {
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>FGAA comparison: behaviour and coherence against scale</title>\n")
                .append("<style>body{font-family:sans-serif;margin:24px}h2{margin-bottom:4px}.row{display:flex;gap:12px;flex-wrap:wrap}"
                        + ".legend span{margin-right:16px}</style></head><body>\n")
                .append("<h1>FGAA comparison: behaviour and coherence against scale</h1>\n<p class=\"legend\">");
        for (int m = 0; m < ReproduceFgaa.METHODS.length; m++) {
            h.append("<span style=\"color:").append(COLOURS[m]).append("\">&#9632; ").append(ReproduceFgaa.METHODS[m]).append("</span>");
        }
        h.append("</p>\n<p>Scale 0 is the unsteered model (shared by all methods). Product = behaviour x coherence, "
                + "the papers' combined score. Tables and setup: results.md.</p>\n");
        for (TaskResult t : tasks) {
            h.append("<h2>").append(escape(t.name())).append("</h2><p>").append(escape(t.criterion())).append("</p><div class=\"row\">\n");
            h.append(chart("behaviour", t, Curve::behaviour)).append(chart("coherence", t, Curve::coherence)).append(chart("behaviour x coherence", t, Curve::product));
            h.append("</div>\n");
        }
        return h.append("</body></html>\n").toString();
    }

    /** One line chart, 340 x 220 px, a polyline per method. */
    static String chart(String title, TaskResult t, java.util.function.Function<Curve, double[]> values) {
        int w = 340, hgt = 220, left = 44, right = 10, top = 24, bottom = 34;
        double xMax = 0, yMax = 0;
        for (Curve c : t.curves().values()) {
            for (double x : c.scale()) xMax = Math.max(xMax, x);
            for (double y : values.apply(c)) if (Double.isFinite(y)) yMax = Math.max(yMax, y);
        }
        xMax = xMax == 0 ? 1 : xMax;
        yMax = niceCeiling(yMax == 0 ? 1 : yMax * 1.05);
        double pw = w - left - right, ph = hgt - top - bottom;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-size=\"10\">", w, hgt));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"14\" font-size=\"12\" font-weight=\"bold\">%s</text>", left, escape(title)));
        for (int i = 0; i <= 4; i++) {
            double y = top + ph - ph * i / 4;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, left + pw, y, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", left - 4, y + 3, num(yMax * i / 4)));
            double x = left + pw * i / 4;
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, hgt - bottom + 14, num(xMax * i / 4)));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">scale</text>", left + pw / 2, hgt - 4));
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>", left, top, pw, ph));
        for (Curve c : t.curves().values()) {
            if (c.scale().length < 2) continue; // not evaluated on this task
            int m = java.util.Arrays.asList(ReproduceFgaa.METHODS).indexOf(c.method());
            double[] ys = values.apply(c);
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < ys.length; i++) {
                if (!Double.isFinite(ys[i])) continue;
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", left + pw * c.scale()[i] / xMax, top + ph - ph * ys[i] / yMax));
            }
            s.append("<polyline fill=\"none\" stroke-width=\"1.8\" stroke=\"").append(COLOURS[m % COLOURS.length])
                    .append("\" points=\"").append(pts.toString().trim()).append("\"><title>").append(escape(c.method())).append("</title></polyline>");
        }
        return s.append("</svg>\n").toString();
    }

    static double niceCeiling(double v) {
        double mag = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) if (step * mag >= v) return step * mag;
        return 10 * mag;
    }

    static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    static String num(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.3g", v);
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
