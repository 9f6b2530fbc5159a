package steering.model.loader;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import steering.common.gguf.GgufFile;
import steering.common.gguf.GgufTensorInfo;
import steering.model.runtime.ComputeSettings;
import steering.model.runtime.DecoderTransformer;
import steering.model.runtime.DecoderOptions;
import steering.model.runtime.ModelConfig;
import steering.model.tokenizer.ChatTemplate;
import steering.model.tokenizer.GgufTokenizerJson;
import steering.model.tokenizer.TextTokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Loads a model from a Hugging Face directory or a GGUF file into a {@link LoadedModel}. */
public final class ModelLoader {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2", "gemma2", "gemma3");

    private ModelLoader() {}

    /**
     * @param path           a Hugging Face model directory or a .gguf file
     * @param maxContext     caps the context length (and the RoPE tables); 0 keeps the model's own
     */
    public static LoadedModel load(Path path, NDManager manager, int maxContext) throws IOException {
        return load(path, manager, maxContext, ComputeSettings.CPU_FLOAT32);
    }

    /**
     * @param compute device and compute dtype (the weights are converted once, here)
     */
    public static LoadedModel load(Path path, NDManager manager, int maxContext, ComputeSettings compute)
            throws IOException {
        if (Files.isDirectory(path)) return loadHuggingFace(path, manager, maxContext, compute);
        if (path.getFileName().toString().endsWith(".gguf")) return loadGguf(path, manager, maxContext, compute);
        throw new IOException(path + " is neither a Hugging Face model directory nor a .gguf file");
    }

    private static LoadedModel loadHuggingFace(Path dir, NDManager manager, int maxContext, ComputeSettings compute) throws IOException {
        JsonNode c = JSON.readTree(dir.resolve("config.json").toFile());
        String arch = c.path("model_type").asText("llama");
        // Gemma 3's text-only checkpoints (270M, 1B) say gemma3_text; the block is gemma3's
        if (arch.equals("gemma3_text")) arch = "gemma3";
        if (!ARCHITECTURES.contains(arch)) {
            throw new IOException("model_type '" + arch + "' is not supported (supported: " + ARCHITECTURES + ")");
        }
        int d = c.get("hidden_size").asInt();
        int heads = c.get("num_attention_heads").asInt();
        int ctx = c.path("max_position_embeddings").asInt(2048);
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = c.get("eos_token_id");
        if (eosNode != null && eosNode.isArray()) eosNode.forEach(n -> eos.add(n.asInt()));
        else if (eosNode != null && !eosNode.isNull()) eos.add(eosNode.asInt());
        JsonNode rs = c.get("rope_scaling");
        ModelConfig.Llama3RopeScaling scaling = null;
        if (rs != null && !rs.isNull() && "llama3".equals(rs.path("rope_type").asText(rs.path("type").asText()))) {
            scaling = new ModelConfig.Llama3RopeScaling(rs.get("factor").asDouble(), rs.get("low_freq_factor").asDouble(),
                    rs.get("high_freq_factor").asDouble(), rs.get("original_max_position_embeddings").asInt());
        }
        try (HuggingFaceWeights weights = new HuggingFaceWeights(dir)) {
            boolean tied = c.path("tie_word_embeddings").asBoolean(true) || !weights.has("lm_head.weight");
            ModelConfig cfg = new ModelConfig(
                    dir.getFileName().toString(), arch, d,
                    c.get("num_hidden_layers").asInt(), heads,
                    c.path("num_key_value_heads").asInt(heads),
                    c.path("head_dim").asInt(d / heads),
                    c.get("intermediate_size").asInt(),
                    c.get("vocab_size").asInt(),
                    cap(ctx, maxContext),
                    (float) c.path("rms_norm_eps").asDouble(1e-6),
                    (float) ropeTheta(c, arch.equals("gemma3") ? 1_000_000.0 : 10000.0),
                    scaling,
                    arch.equals("qwen2") || c.path("attention_bias").asBoolean(false),
                    tied,
                    c.path("bos_token_id").asInt(-1),
                    eos,
                    "huggingface", weights.storedType(),
                    GgufWeights.isGemma(arch) ? gemmaOptions(c, arch, c.get("num_hidden_layers").asInt()) : null);
            // Llama's and Gemma's SentencePiece vocabularies expect BOS; byte-level BPE models (SmolLM, Qwen2) say so
            boolean bosByDefault = arch.equals("llama") || GgufWeights.isGemma(arch);
            JsonNode tc = readOptional(dir.resolve("tokenizer_config.json"));
            boolean addBos = tc == null ? bosByDefault : tc.path("add_bos_token").asBoolean(bosByDefault);
            String template = tc == null ? null : tc.path("chat_template").isTextual() ? tc.get("chat_template").asText() : null;
            TextTokenizer tokenizer = new TextTokenizer(dir.resolve("tokenizer.json"), cfg.bosTokenId(), addBos, cfg.vocabSize());
            DecoderTransformer transformer = new DecoderTransformer(cfg, DecoderWeightsLoader.load(cfg, weights, manager, compute));
            return new LoadedModel(cfg, transformer, tokenizer, chatTemplate(template, tokenizer, cfg));
        }
    }

    private static LoadedModel loadGguf(Path file, NDManager manager, int maxContext, ComputeSettings compute) throws IOException {
        GgufFile gguf = GgufFile.open(file);
        try {
            String arch = gguf.getString("general.architecture");
            if (arch == null || !ARCHITECTURES.contains(arch)) {
                throw new IOException("GGUF architecture '" + arch + "' is not supported (supported: " + ARCHITECTURES + ")");
            }
            String p = arch + ".";
            int d = (int) require(gguf, p + "embedding_length");
            int heads = (int) require(gguf, p + "attention.head_count");
            List<?> tokens = (List<?>) gguf.metadata().get("tokenizer.ggml.tokens");
            int vocab = (int) gguf.getLong(p + "vocab_size", tokens == null ? 0 : tokens.size());
            List<Integer> eos = new ArrayList<>();
            long eosId = gguf.getLong("tokenizer.ggml.eos_token_id", -1);
            if (eosId >= 0) eos.add((int) eosId);
            long eotId = gguf.getLong("tokenizer.ggml.eot_token_id", -1);
            if (eotId >= 0 && eotId != eosId) eos.add((int) eotId);
            ModelConfig cfg = new ModelConfig(
                    stripExtension(file.getFileName().toString()), arch, d,
                    (int) require(gguf, p + "block_count"), heads,
                    (int) gguf.getLong(p + "attention.head_count_kv", heads),
                    (int) gguf.getLong(p + "attention.key_length", d / heads),
                    (int) require(gguf, p + "feed_forward_length"),
                    vocab,
                    cap((int) gguf.getLong(p + "context_length", 2048), maxContext),
                    (float) gguf.getDouble(p + "attention.layer_norm_rms_epsilon", 1e-5),
                    (float) gguf.getDouble(p + "rope.freq_base", 10000.0),
                    null,
                    gguf.tensor("blk.0.attn_q.bias") != null,
                    gguf.tensor("output.weight") == null,
                    (int) gguf.getLong("tokenizer.ggml.bos_token_id", -1),
                    eos,
                    "gguf", predominantType(gguf),
                    GgufWeights.isGemma(arch) ? gemmaOptions(gguf, arch) : null);
            addChatEndTokens(gguf, tokens, eos);
            cfg = cfg.withEosTokenIds(eos);
            Path tokenizerJson = Files.createTempFile("gguf-tokenizer-", ".json");
            try {
                Files.writeString(tokenizerJson, GgufTokenizerJson.build(gguf), StandardCharsets.UTF_8);
                boolean bosByDefault = arch.equals("llama") || GgufWeights.isGemma(arch);
                boolean addBos = gguf.metadata().get("tokenizer.ggml.add_bos_token") instanceof Boolean b ? b : bosByDefault;
                TextTokenizer tokenizer = new TextTokenizer(tokenizerJson, cfg.bosTokenId(), addBos, cfg.vocabSize());
                DecoderTransformer transformer;
                try (GgufWeights weights = new GgufWeights(gguf, cfg)) {
                    transformer = new DecoderTransformer(cfg, DecoderWeightsLoader.load(cfg, weights, manager, compute));
                }
                return new LoadedModel(cfg, transformer, tokenizer,
                        chatTemplate(gguf.getString("tokenizer.chat_template"), tokenizer, cfg));
            } finally {
                Files.deleteIfExists(tokenizerJson);
            }
        } finally {
            gguf.close();
        }
    }

    /** Chat models end a turn with a token that is not the file's EOS (e.g. ChatML's <|im_end|>). */
    private static void addChatEndTokens(GgufFile gguf, List<?> tokens, List<Integer> eos) {
        if (tokens == null) return;
        for (String marker : List.of("<|im_end|>", "<|eot_id|>", "<end_of_turn>")) {
            int id = tokens.indexOf(marker);
            if (id >= 0 && !eos.contains(id)) eos.add(id);
        }
    }

    /**
     * Gemma 2/3 options from a Hugging Face config.json, in the older flat form (rope_theta, rope_local_base_freq,
     * rope_scaling, sliding_window_pattern) and in transformers 5's (rope_parameters per layer type, layer_types).
     */
    static DecoderOptions gemmaOptions(JsonNode c, String arch, int nLayers) throws IOException {
        boolean gemma3 = arch.equals("gemma3");
        String act = c.path("hidden_activation").asText(c.path("hidden_act").asText("gelu_pytorch_tanh"));
        // Gemma always used the tanh approximation, even where an old config says plain "gelu"
        if (!Set.of("gelu_pytorch_tanh", "gelu_new", "gelu").contains(act)) {
            throw new IOException("Gemma activation '" + act + "' is not supported (expected gelu_pytorch_tanh)");
        }
        List<Boolean> sliding = new ArrayList<>();
        JsonNode types = c.get("layer_types");
        if (types != null && types.isArray()) {
            for (JsonNode t : types) sliding.add(t.asText().equals("sliding_attention"));
        } else {
            sliding = DecoderOptions.alternating(nLayers, gemma3 ? c.path("sliding_window_pattern").asInt(6) : 2);
        }
        int window = c.path("sliding_window").asInt(gemma3 ? 512 : 4096);
        double localTheta = 0;
        double linear = 1;
        if (gemma3) {
            localTheta = c.path("rope_local_base_freq").asDouble(10000.0);
            JsonNode rp = c.get("rope_parameters");
            if (rp != null && rp.has("sliding_attention")) {
                localTheta = rp.get("sliding_attention").path("rope_theta").asDouble(localTheta);
            }
            JsonNode global = rp != null && rp.has("full_attention") ? rp.get("full_attention") : c.get("rope_scaling");
            if (global != null && !global.isNull()) {
                String type = global.path("rope_type").asText(global.path("type").asText("default"));
                if (type.equals("linear")) {
                    linear = global.path("factor").asDouble(1.0);
                } else if (!type.equals("default")) {
                    throw new IOException("Gemma 3 rope type '" + type + "' is not supported (default or linear)");
                }
            }
        }
        return new DecoderOptions(1f, true, DecoderOptions.Activation.GELU_TANH,
                (float) Math.sqrt(c.get("hidden_size").asInt()),
                (float) c.path("attn_logit_softcapping").asDouble(gemma3 ? 0 : 50.0),
                (float) c.path("final_logit_softcapping").asDouble(gemma3 ? 0 : 30.0),
                (float) c.path("query_pre_attn_scalar").asDouble(c.path("head_dim").asDouble(256)),
                gemma3, window, sliding, (float) localTheta, (float) linear);
    }

    /** rope_theta, flat or (transformers 5) inside rope_parameters, for the global layers. */
    private static double ropeTheta(JsonNode c, double fallback) {
        JsonNode rp = c.get("rope_parameters");
        if (rp != null && rp.has("full_attention")) rp = rp.get("full_attention");
        if (rp != null && rp.has("rope_theta")) return rp.get("rope_theta").asDouble();
        return c.path("rope_theta").asDouble(fallback);
    }

    /**
     * Gemma 2/3 options from GGUF metadata. llama.cpp stores only part of them; the rest it fixes per architecture,
     * and so do we: the local/global layer pattern (every 2nd layer global for Gemma 2, every 6th for Gemma 3),
     * Gemma 3's local RoPE base (10000), and the query scale (1/sqrt(head_dim), except d_model/n_heads for the 27B
     * models, which llama.cpp recognises by their layer count, as Google's reference code configures them).
     */
    static DecoderOptions gemmaOptions(GgufFile gguf, String arch) throws IOException {
        String p = arch + ".";
        boolean gemma3 = arch.equals("gemma3");
        int nLayers = (int) require(gguf, p + "block_count");
        int d = (int) require(gguf, p + "embedding_length");
        int heads = (int) require(gguf, p + "attention.head_count");
        int headDim = (int) gguf.getLong(p + "attention.key_length", d / heads);
        boolean is27b = nLayers == (gemma3 ? 62 : 46);
        List<Boolean> sliding = DecoderOptions.alternating(nLayers, gemma3 ? 6 : 2);
        int window = (int) gguf.getLong(p + "attention.sliding_window", gemma3 ? -1 : 4096);
        if (window <= 0) throw new IOException("GGUF metadata lacks " + p + "attention.sliding_window");
        double linear = 1;
        String scaling = gguf.getString(p + "rope.scaling.type");
        if (scaling != null && !scaling.equals("none")) {
            if (!scaling.equals("linear")) throw new IOException("rope scaling '" + scaling + "' is not supported for " + arch);
            linear = gguf.getDouble(p + "rope.scaling.factor", 1.0);
        }
        return new DecoderOptions(1f, true, DecoderOptions.Activation.GELU_TANH, (float) Math.sqrt(d),
                (float) gguf.getDouble(p + "attn_logit_softcapping", gemma3 ? 0 : 50.0),
                (float) gguf.getDouble(p + "final_logit_softcapping", gemma3 ? 0 : 30.0),
                is27b ? (float) d / heads : headDim,
                gemma3, window, sliding, gemma3 ? 10000f : 0f, (float) linear);
    }

    private static ChatTemplate chatTemplate(String jinja, TextTokenizer tokenizer, ModelConfig cfg) {
        String bosText = cfg.bosTokenId() >= 0 && tokenizer.addsBosByDefault()
                ? tokenizer.decode(new int[]{cfg.bosTokenId()}, false) : "";
        ChatTemplate detected = ChatTemplate.detect(jinja, bosText);
        // Gemma GGUF files converted without the tokenizer_config (e.g. this Gemma 3 270M) carry no template, but
        // every Gemma 2/3 checkpoint is trained on the same turn format, so the family implies the template
        if (detected == null && (jinja == null || jinja.isBlank()) && GgufWeights.isGemma(cfg.architecture())) {
            return ChatTemplate.gemma(bosText);
        }
        return detected;
    }

    /** The type most weights are stored in (e.g. Q4_1), which names a quantized file better than any one tensor. */
    private static String predominantType(GgufFile gguf) {
        java.util.Map<String, Long> elements = new java.util.HashMap<>();
        for (GgufTensorInfo t : gguf.tensors()) elements.merge(t.type().name(), t.elementCount(), Long::sum);
        return elements.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).map(java.util.Map.Entry::getKey).orElse("unknown");
    }

    private static long require(GgufFile gguf, String key) throws IOException {
        long v = gguf.getLong(key, -1);
        if (v <= 0) throw new IOException("GGUF metadata lacks " + key);
        return v;
    }

    private static int cap(int ctx, int maxContext) {
        return maxContext > 0 ? Math.min(ctx, maxContext) : ctx;
    }

    private static JsonNode readOptional(Path p) throws IOException {
        return Files.isRegularFile(p) ? JSON.readTree(p.toFile()) : null;
    }

    private static String stripExtension(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
