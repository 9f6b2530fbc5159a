package steering.sae.stats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import steering.common.io.AtomicFiles;
import steering.common.safetensors.SafetensorsFile;
import steering.common.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Stores feature statistics beside an SAE: {@code feature_stats.safetensors} (the per-feature arrays) and
 * {@code feature_stats.json} (token count, corpus, time, BOS features, top contexts). The JSON is written last, so
 * its presence means both files are complete.
 */
public final class FeatureStatsIO {
    public static final String ARRAYS = "feature_stats.safetensors";
    public static final String JSON_FILE = "feature_stats.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private FeatureStatsIO() {}

    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(JSON_FILE)) && Files.isRegularFile(dir.resolve(ARRAYS));
    }

    public static void write(Path dir, FeatureStatsData s) throws IOException {
        long[] shape = {s.dSae()};
        new SafetensorsWriter()
                .add("density", shape, s.density())
                .add("mean_activation", shape, s.meanActivation())
                .add("mean_active_activation", shape, s.meanActiveActivation())
                .add("max_activation", shape, s.maxActivation())
                .add("bos_activation", shape, s.bosActivation())
                .write(dir.resolve(ARRAYS));
        ObjectNode root = JSON.createObjectNode();
        root.put("tokens", s.tokens());
        root.put("corpus", s.corpus());
        root.put("computed_at", s.computedAt().toString());
        root.put("d_sae", s.dSae());
        ArrayNode bos = root.putArray("bos_features");
        for (int f : s.bosFeatures()) bos.add(f);
        ObjectNode contexts = root.putObject("top_contexts");
        List<Integer> keys = new ArrayList<>(s.topContexts().keySet());
        keys.sort(Integer::compare);
        for (int f : keys) {
            ArrayNode list = contexts.putArray(Integer.toString(f));
            for (TopContext c : s.topContexts().get(f)) {
                ObjectNode o = list.addObject();
                o.put("document", c.document());
                o.put("position", c.position());
                o.put("activation", c.activation());
                o.put("token", c.token());
                o.put("text", c.text());
            }
        }
        AtomicFiles.writeString(dir.resolve(JSON_FILE), JSON.writeValueAsString(root));
    }

    public static FeatureStatsData read(Path dir) throws IOException {
        JsonNode root = JSON.readTree(dir.resolve(JSON_FILE).toFile());
        float[] density, mean, meanActive, max, bos;
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve(ARRAYS))) {
            density = st.readFloats("density");
            mean = st.readFloats("mean_activation");
            meanActive = st.readFloats("mean_active_activation");
            max = st.readFloats("max_activation");
            bos = st.readFloats("bos_activation");
        }
        int[] bosFeatures = new int[root.path("bos_features").size()];
        for (int i = 0; i < bosFeatures.length; i++) bosFeatures[i] = root.get("bos_features").get(i).asInt();
        Map<Integer, List<TopContext>> contexts = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("top_contexts").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            List<TopContext> l = new ArrayList<>();
            for (JsonNode c : e.getValue()) {
                l.add(new TopContext(c.get("document").asInt(), c.get("position").asInt(), (float) c.get("activation").asDouble(),
                        c.path("text").asText(), c.path("token").asText()));
            }
            contexts.put(Integer.parseInt(e.getKey()), l);
        }
        return new FeatureStatsData(root.path("tokens").asLong(), root.path("corpus").asText(),
                Instant.parse(root.path("computed_at").asText(Instant.EPOCH.toString())), density, mean, meanActive, max, bos,
                bosFeatures, contexts);
    }
}
