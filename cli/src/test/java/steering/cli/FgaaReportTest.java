package steering.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The report's arithmetic (best scale, winner, means) and its files, from hand-made results. */
class FgaaReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** behaviour per method at scales 10 (coherence 0.8) and 20 (coherence 0.5); unsteered: b 0.5, c 1.0 */
    private static ObjectNode result(String task, double[][] behaviour) {
        ObjectNode r = JSON.createObjectNode();
        r.put("task", task).put("criterion", "The text is about " + task + ".").put("prompt", "I think").put("samples", 2)
                .put("max_tokens", 30).put("target_feature", 7).put("wall_seconds", 60);
        ArrayNode vectors = r.putArray("vectors");
        ObjectNode fgaa = vectors.addObject().put("label", "FGAA");
        fgaa.putArray("features").addObject().put("feature", 7).put("weight", 0.9);
        r.putObject("target_feature_stats").putArray("features").addObject().put("density", 0.002)
                .putArray("top_contexts").addObject().put("text", "the [[" + task + "]] was");
        ObjectNode eval = r.putObject("evaluation");
        eval.put("judge", "test");
        ArrayNode points = eval.putArray("points");
        point(points, "unsteered", 0, 0.5, 1.0);
        for (int m = 0; m < ReproduceFgaa.METHODS.length; m++) {
            // written out of order: the report sorts by scale
            point(points, ReproduceFgaa.METHODS[m], 20, behaviour[m][1], 0.5);
            point(points, ReproduceFgaa.METHODS[m], 10, behaviour[m][0], 0.8);
        }
        return r;
    }

    private static void point(ArrayNode points, String label, double scale, double b, double c) {
        ObjectNode p = points.addObject().put("label", label).put("scale", scale).put("behaviour", b).put("coherence", c).put("product", b * c);
        p.putArray("samples").add(" a <sample> at " + scale).add(" another");
    }

    @Test
    void picksTheBestNonzeroScaleAndTheWinner() {
        // CAA: 0.6*0.8=0.48 at 10 vs 0.9*0.5=0.45 at 20 -> scale 10; FGAA: 0.9*0.8=0.72 at 10 -> wins
        FgaaReport.TaskResult t = FgaaReport.parse(result("love", new double[][] {{0.6, 0.9}, {0.2, 0.2}, {0.1, 0.2}, {0.3, 0.3}, {0.9, 1.0}, {0.1, 0.1}, {0.2, 0.2}}));
        FgaaReport.Curve caa = t.curves().get("CAA");
        assertArrayEquals(new double[] {0, 10, 20}, caa.scale());
        assertEquals(1, caa.best());
        assertEquals(0.5, caa.product()[0], 1e-12, "scale 0 is the unsteered point");
        assertEquals(4, FgaaReport.winner(t));
        // the unsteered product (0.5) beats SAE decoder's best (0.1 at 20), but best() never returns scale 0
        assertEquals(2, t.curves().get("SAE decoder").best());
        // coherence 0.8 and 0.5 against the unsteered 1.0: at half, both scales qualify and the larger behaviour wins
        assertEquals(2, caa.bestBehaviourAbove(0.5));
        assertEquals(1, caa.bestBehaviourAbove(0.6));
        assertEquals(-1, caa.bestBehaviourAbove(0.9));
    }

    @Test
    void rendersTablesAndChartsForTheTasksWithResults(@TempDir Path dir) throws Exception {
        Path results = dir.resolve("results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("love.json"), JSON.writeValueAsString(result("love", new double[][] {{0.6, 0.9}, {0.2, 0.2}, {0.1, 0.2}, {0.3, 0.3}, {0.9, 1.0}, {0.1, 0.1}, {0.2, 0.2}})));
        Files.writeString(results.resolve("anger.json"), JSON.writeValueAsString(result("anger", new double[][] {{0.9, 0.1}, {0.2, 0.2}, {0.1, 0.2}, {0.3, 0.3}, {0.2, 0.1}, {0.1, 0.1}, {0.2, 0.2}})));
        JsonNode tasks = JSON.readTree("{\"tasks\":[{\"name\":\"anger\"},{\"name\":\"love\"},{\"name\":\"wedding\"}]}");

        FgaaReport.render(tasks, results, dir);

        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| anger | 0.500 | **0.720 (10)** |"), md);
        assertTrue(md.contains("| love | 0.500 | 0.480 (10) |"), md);
        assertTrue(md.contains("| tasks won | | 1 | 0 | 0 | 0 | 1 |"), md);
        assertTrue(md.contains("| mean | 0.500 | 0.600 |"), md);
        assertTrue(md.contains("| love | 0.500 | 0.900 (20) | 0.200 (10) | 0.200 (20) | 0.300 (10) | **1.000 (20)** |"), md);
        assertFalse(md.contains("wedding"), "a task without a result is left out");
        assertTrue(md.contains("a &lt;sample&gt; at 10"), "samples are escaped");
        String html = Files.readString(dir.resolve("plots.html"));
        assertEquals(2 * 3 * ReproduceFgaa.METHODS.length, html.split("<polyline").length - 1, "4 lines in 3 charts per task");
        assertTrue(html.indexOf("<h2>anger</h2>") < html.indexOf("<h2>love</h2>"), "tasks in the tasks file's order");
    }

    @Test
    void aMethodMissingFromAStoredResultIsShownAsMissingAndListedForTheSupplement() {
        ObjectNode r = result("love", new double[][] {{0.6, 0.9}, {0.2, 0.2}, {0.1, 0.2}, {0.3, 0.3}, {0.9, 1.0}, {0.1, 0.1}, {0.2, 0.2}});
        ArrayNode points = (ArrayNode) r.get("evaluation").get("points");
        for (int i = points.size() - 1; i >= 0; i--) if (points.get(i).get("label").asText().equals("CAA (no BOS)")) points.remove(i);
        assertEquals(List.of("CAA (no BOS)"), ReproduceFgaa.missingMethods(r));
        FgaaReport.TaskResult t = FgaaReport.parse(r);
        assertEquals(-1, t.curves().get("CAA (no BOS)").best());
        String md = FgaaReport.markdown(List.of(t), null);
        assertTrue(md.contains("| love | 0.500 | 0.480 (10) | - |"), md);
        assertEquals(3 * (ReproduceFgaa.METHODS.length - 1), FgaaReport.html(List.of(t), null).split("<polyline").length - 1);
    }

    @Test
    void standardErrorOfTheProductFromPerSampleScores() {
        ObjectNode p = JSON.createObjectNode().put("behaviour", 0.5).put("coherence", 0.5);
        assertTrue(Double.isNaN(FgaaReport.productStandardError(p)), "no per-sample scores, no error");
        p.putArray("sample_behaviour").add(0.4).add(0.6);   // se = 0.1
        p.putArray("sample_coherence").add(0.5).add(0.5);   // se = 0
        assertEquals(0.05, FgaaReport.productStandardError(p), 1e-12);
    }

    @Test
    void builtInTasksHaveExamplesAndCriteria() throws Exception {
        JsonNode tasks = JSON.readTree(ReproduceFgaa.class.getResourceAsStream("fgaa-tasks.json"));
        List<String> names = new java.util.ArrayList<>();
        for (JsonNode t : tasks.get("tasks")) {
            names.add(t.get("name").asText());
            assertFalse(t.get("criterion").asText().isBlank());
            assertTrue(t.get("positive").size() >= 8 && t.get("negative").size() >= 8, t.get("name").asText());
        }
        assertEquals(List.of("anger", "christian_evangelist", "conspiracy", "french", "london", "love", "praise", "want_to_die", "wedding"), names);
    }

    @Test
    void featureSpecsParse() {
        assertEquals(List.of(3, 5), Build.features(List.of("3", "5:0.5")).stream().map(f -> f.getFeature()).toList());
        assertEquals(0.5, Build.features(List.of("5:0.5")).get(0).getWeight());
        assertThrows(IllegalArgumentException.class, () -> Build.features(List.of("x")));
    }
}
