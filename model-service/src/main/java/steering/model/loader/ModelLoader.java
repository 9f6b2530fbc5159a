package steering.model.loader;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import steering.common.gguf.GgufFile;
import steering.common.gguf.GgufTensorInfo;
import steering.model.runtime.LlamaTransformer;
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
    private static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2");

    private ModelLoader() {}

    /**
     * @param path           a Hugging Face model directory or a .gguf file
     * @param maxContext     caps the context length (and the RoPE tables); 0 keeps the model's own
     */
    public static LoadedModel load(Path path, NDManager manager, int maxContext) throws IOException {
        if (Files.isDirectory(path)) return loadHuggingFace(path, manager, maxContext);
        if (path.getFileName().toString().endsWith(".gguf")) return loadGguf(path, manager, maxContext);
        throw new IOException(path + " is neither a Hugging Face model directory nor a .gguf file");
    }

    private static LoadedModel loadHuggingFace(Path dir, NDManager manager, int maxContext) throws IOException {
        JsonNode c = JSON.readTree(dir.resolve("config.json").toFile());
        String arch = c.path("model_type").asText("llama");
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
                    (float) c.path("rope_theta").asDouble(10000.0),
                    scaling,
                    arch.equals("qwen2") || c.path("attention_bias").asBoolean(false),
                    tied,
                    c.path("bos_token_id").asInt(-1),
                    eos,
                    "huggingface", weights.storedType());
            JsonNode tc = readOptional(dir.resolve("tokenizer_config.json"));
            boolean addBos = tc == null ? arch.equals("llama") : tc.path("add_bos_token").asBoolean(arch.equals("llama"));
            String template = tc == null ? null : tc.path("chat_template").isTextual() ? tc.get("chat_template").asText() : null;
            TextTokenizer tokenizer = new TextTokenizer(dir.resolve("tokenizer.json"), cfg.bosTokenId(), addBos, cfg.vocabSize());
            LlamaTransformer transformer = new LlamaTransformer(cfg, weights, manager);
            return new LoadedModel(cfg, transformer, tokenizer, chatTemplate(template, tokenizer, cfg));
        }
    }

    private static LoadedModel loadGguf(Path file, NDManager manager, int maxContext) throws IOException {
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
                    "gguf", predominantType(gguf));
            addChatEndTokens(gguf, tokens, eos);
            cfg = withEos(cfg, eos);
            Path tokenizerJson = Files.createTempFile("gguf-tokenizer-", ".json");
            try {
                Files.writeString(tokenizerJson, GgufTokenizerJson.build(gguf), StandardCharsets.UTF_8);
                boolean addBos = gguf.metadata().get("tokenizer.ggml.add_bos_token") instanceof Boolean b ? b : arch.equals("llama");
                TextTokenizer tokenizer = new TextTokenizer(tokenizerJson, cfg.bosTokenId(), addBos, cfg.vocabSize());
                LlamaTransformer transformer;
                try (GgufWeights weights = new GgufWeights(gguf, cfg)) {
                    transformer = new LlamaTransformer(cfg, weights, manager);
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

    private static ModelConfig withEos(ModelConfig c, List<Integer> eos) {
        return new ModelConfig(c.modelId(), c.architecture(), c.dModel(), c.nLayers(), c.nHeads(), c.nKvHeads(),
                c.headDim(), c.ffnDim(), c.vocabSize(), c.contextLength(), c.rmsNormEps(), c.ropeTheta(),
                c.ropeScaling(), c.attentionBias(), c.tiedEmbeddings(), c.bosTokenId(), eos, c.sourceFormat(),
                c.weightsType());
    }

    private static ChatTemplate chatTemplate(String jinja, TextTokenizer tokenizer, ModelConfig cfg) {
        String bosText = cfg.bosTokenId() >= 0 && tokenizer.addsBosByDefault()
                ? tokenizer.decode(new int[]{cfg.bosTokenId()}, false) : "";
        return ChatTemplate.detect(jinja, bosText);
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
