package steering.model.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import steering.common.gguf.GgufFile;

import java.io.IOException;
import java.util.List;

/**
 * Rebuilds a Hugging Face {@code tokenizer.json} from the tokenizer a GGUF file embeds in its metadata
 * ({@code tokenizer.ggml.*}), so the same well-tested tokenizer library serves both formats.
 *
 * <p>Supported: byte-level BPE ({@code tokenizer.ggml.model = gpt2}) with the pre-tokenizers of the
 * {@code tokenizer.ggml.pre} families below. SentencePiece vocabularies ({@code llama}) are not yet supported.
 */
public final class GgufTokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    // token_type values of the GGUF spec
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;

    /** GPT-4-style split used by Llama 3 ("llama-bpe"); Qwen2 uses the same with single digits. */
    private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private GgufTokenizerJson() {}

    public static String build(GgufFile gguf) throws IOException {
        String model = gguf.getString("tokenizer.ggml.model");
        if (!"gpt2".equals(model)) {
            throw new IOException("GGUF tokenizer model '" + model + "' is not supported yet (supported: gpt2 byte-level BPE)");
        }
        List<?> tokens = list(gguf, "tokenizer.ggml.tokens");
        List<?> merges = list(gguf, "tokenizer.ggml.merges");
        Object typesObj = gguf.metadata().get("tokenizer.ggml.token_type");
        List<?> types = typesObj instanceof List<?> l ? l : null;

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = JSON.createObjectNode();
        for (int id = 0; id < tokens.size(); id++) {
            String piece = (String) tokens.get(id);
            vocab.put(piece, id);
            int type = types == null ? 1 : ((Number) types.get(id)).intValue();
            if (type == CONTROL || type == USER_DEFINED) {
                ObjectNode t = added.addObject();
                t.put("id", id);
                t.put("content", piece);
                t.put("single_word", false);
                t.put("lstrip", false);
                t.put("rstrip", false);
                t.put("normalized", false);
                t.put("special", type == CONTROL);
            }
        }
        root.putNull("normalizer");
        root.set("pre_tokenizer", preTokenizer(gguf.getString("tokenizer.ggml.pre")));
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);
        ObjectNode bpe = root.putObject("model");
        bpe.put("type", "BPE");
        bpe.putNull("dropout");
        bpe.putNull("unk_token");
        bpe.putNull("continuing_subword_prefix");
        bpe.putNull("end_of_word_suffix");
        bpe.put("fuse_unk", false);
        bpe.put("byte_fallback", false);
        bpe.put("ignore_merges", false);
        bpe.set("vocab", vocab);
        ArrayNode mergeArray = bpe.putArray("merges");
        for (Object m : merges) mergeArray.add((String) m);
        return JSON.writeValueAsString(root);
    }

    private static ObjectNode preTokenizer(String pre) {
        String family = pre == null ? "default" : pre;
        ObjectNode byteLevel = JSON.createObjectNode();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        byteLevel.put("trim_offsets", true);
        switch (family) {
            case "smollm", "starcoder", "refact", "codeshell" -> {
                // digits one by one, then GPT-2's byte-level split
                byteLevel.put("use_regex", true);
                ObjectNode seq = JSON.createObjectNode();
                seq.put("type", "Sequence");
                ArrayNode list = seq.putArray("pretokenizers");
                ObjectNode digits = list.addObject();
                digits.put("type", "Digits");
                digits.put("individual_digits", true);
                list.add(byteLevel);
                return seq;
            }
            case "llama-bpe", "llama3", "dbrx", "smaug-bpe" -> {
                return splitThenBytes(LLAMA3_SPLIT, byteLevel);
            }
            case "qwen2" -> {
                return splitThenBytes(QWEN2_SPLIT, byteLevel);
            }
            default -> {
                byteLevel.put("use_regex", true);
                return byteLevel;
            }
        }
    }

    private static ObjectNode splitThenBytes(String regex, ObjectNode byteLevel) {
        byteLevel.put("use_regex", false);
        ObjectNode seq = JSON.createObjectNode();
        seq.put("type", "Sequence");
        ArrayNode list = seq.putArray("pretokenizers");
        ObjectNode split = list.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", regex);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        list.add(byteLevel);
        return seq;
    }

    private static List<?> list(GgufFile gguf, String key) throws IOException {
        Object v = gguf.metadata().get(key);
        if (!(v instanceof List<?> l)) throw new IOException("GGUF metadata has no array " + key);
        return l;
    }
}
