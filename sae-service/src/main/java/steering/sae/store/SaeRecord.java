package steering.sae.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import steering.sae.core.Architecture;
import steering.sae.core.SaeConfig;
import steering.v1.HookPoint;
import steering.v1.SaeInfo;
import steering.v1.SaeSourceFormat;
import steering.v1.SaeTrainingMetrics;

import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The metadata sidecar ({@code metadata.json}) of a stored SAE: what it is, where it came from, how it was made and
 * how well it does. Readable without loading the weights.
 *
 * @param metadata  free-form facts (method, parameters, corpus, norms ...), strings
 * @param metrics   training/evaluation figures by name (the fields of SaeTrainingMetrics), or empty
 */
public record SaeRecord(String id, SaeConfig config, SaeSourceFormat sourceFormat, String source, Instant createdAt,
                        Map<String, String> metadata, Map<String, Double> metrics) {
    static final ObjectMapper JSON = new ObjectMapper();

    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", id);
        o.put("model_id", config.modelId());
        o.put("hook", config.hookName());
        o.put("architecture", config.architecture().saeLensName());
        o.put("d_in", config.dIn());
        o.put("d_sae", config.dSae());
        o.put("k", config.k());
        o.put("apply_b_dec_to_input", config.applyBDecToInput());
        o.put("normalize_activations", config.normalization().saeLensName());
        o.put("prepend_bos", config.prependBos());
        o.put("rescale_acts_by_decoder_norm", config.rescaleActsByDecoderNorm());
        o.put("context_size", config.contextSize());
        o.put("dataset_path", config.datasetPath());
        o.put("source_format", sourceFormat.name());
        o.put("source", source);
        o.put("created_at", createdAt.toString());
        ObjectNode m = o.putObject("metadata");
        metadata.forEach(m::put);
        ObjectNode t = o.putObject("metrics");
        metrics.forEach(t::put);
        return o;
    }

    /** Parses a sidecar (it repeats the config of cfg.json, so listing never reads weights). */
    static SaeRecord fromJson(JsonNode o) {
        SaeConfig config = new SaeConfig(Architecture.fromSaeLens(o.path("architecture").asText()), o.path("d_in").asInt(),
                o.path("d_sae").asInt(), o.path("k").asInt(), o.path("apply_b_dec_to_input").asBoolean(),
                steering.sae.core.Normalization.fromSaeLens(o.path("normalize_activations").asText("none")),
                o.path("rescale_acts_by_decoder_norm").asBoolean(false), o.path("model_id").asText(), o.path("hook").asText(),
                o.path("prepend_bos").asBoolean(true), o.path("context_size").asInt(0), o.path("dataset_path").asText(""));
        Map<String, String> meta = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = o.path("metadata").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            meta.put(e.getKey(), e.getValue().asText());
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = o.path("metrics").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            metrics.put(e.getKey(), e.getValue().asDouble());
        }
        SaeSourceFormat fmt;
        try {
            fmt = SaeSourceFormat.valueOf(o.path("source_format").asText("SAE_SOURCE_FORMAT_SAELENS"));
        } catch (IllegalArgumentException e) {
            fmt = SaeSourceFormat.SAE_SOURCE_FORMAT_SAELENS;
        }
        Instant created;
        try {
            created = Instant.parse(o.path("created_at").asText());
        } catch (RuntimeException e) {
            created = Instant.EPOCH;
        }
        return new SaeRecord(o.path("id").asText(), config, fmt, o.path("source").asText(), created, meta, metrics);
    }

    public SaeInfo toInfo(boolean hasStats) {
        SaeInfo.Builder b = SaeInfo.newBuilder()
                .setId(id)
                .setModelId(config.modelId())
                .setHook(HookPoint.newBuilder().setName(config.hookName()))
                .setDIn(config.dIn())
                .setDSae(config.dSae())
                .setArchitecture(config.architecture().toWire())
                .setK(config.k())
                .setApplyBDecToInput(config.applyBDecToInput())
                .setNormalizeActivations(config.normalization().saeLensName())
                .setSourceFormat(sourceFormat)
                .setSource(source)
                .setCreatedAt(com.google.protobuf.Timestamp.newBuilder().setSeconds(createdAt.getEpochSecond()).setNanos(createdAt.getNano()))
                .setHasFeatureStats(hasStats)
                .setPrependBos(config.prependBos())
                .putAllMetadata(metadata);
        if (!metrics.isEmpty()) b.setTrainingMetrics(metricsProto(metrics));
        return b.build();
    }

    public static SaeTrainingMetrics metricsProto(Map<String, Double> m) {
        SaeTrainingMetrics.Builder b = SaeTrainingMetrics.newBuilder();
        var fields = SaeTrainingMetrics.getDescriptor().getFields();
        for (var f : fields) {
            Double v = m.get(f.getName());
            if (v == null) continue;
            if (f.getJavaType() == com.google.protobuf.Descriptors.FieldDescriptor.JavaType.LONG) b.setField(f, (long) Math.round(v));
            else b.setField(f, v);
        }
        return b.build();
    }

    public static Map<String, Double> metricsMap(SaeTrainingMetrics p) {
        Map<String, Double> out = new LinkedHashMap<>();
        p.getAllFields().forEach((f, v) -> out.put(f.getName(), ((Number) v).doubleValue()));
        return out;
    }

    public boolean trained() {
        return "trained".equals(source);
    }

    public Architecture architecture() {
        return config.architecture();
    }
}
