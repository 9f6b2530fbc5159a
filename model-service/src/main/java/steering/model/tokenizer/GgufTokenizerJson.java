package steering.model.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import steering.common.gguf.GgufFile;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds a Hugging Face {@code tokenizer.json} from the tokenizer a GGUF file embeds in its metadata
 * ({@code tokenizer.ggml.*}), so the same well-tested tokenizer library serves both formats.
 *
 * <p>Supported: byte-level BPE ({@code tokenizer.ggml.model = gpt2}) with the pre-tokenizers of the
 * {@code tokenizer.ggml.pre} families below, and SentencePiece BPE vocabularies ({@code llama}: Gemma, Llama 2),
 * rebuilt the way Hugging Face converts a SentencePiece model: BPE with byte fallback whose merges are recovered from
 * the vocabulary (GGUF stores none for SentencePiece).
 */
public final class GgufTokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    // token_type values of the GGUF spec
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;
    private static final String SPIECE_SPACE = "\u2581";

    /** GPT-4-style split used by Llama 3 ("llama-bpe"); Qwen2 uses the same with single digits. */
    private static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private GgufTokenizerJson() {}

    public static String build(GgufFile gguf) throws IOException {
        String model = gguf.getString("tokenizer.ggml.model");
        if ("llama".equals(model)) return sentencePiece(gguf);
        if (!"gpt2".equals(model)) {
            throw new IOException("GGUF tokenizer model '" + model + "' is not supported yet "
                    + "(supported: gpt2 byte-level BPE, llama SentencePiece BPE)");
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

    /**
     * A SentencePiece BPE vocabulary as a Hugging Face tokenizer: spaces become "▁" (a normalizer), unknown
     * characters fall back to byte tokens, and the merges are recovered from the vocabulary: every split of a piece
     * into two pieces of the vocabulary is a merge, ranked by the merged piece's priority.
     *
     * <p>Gemma differs from Llama 2 in three ways, as transformers' GGUF converter has it: no space is prepended
     * ({@code tokenizer.ggml.add_space_prefix} is false), a merged piece's priority is its position in the
     * vocabulary (its scores do not follow the merge order), and llama.cpp stores Gemma's whitespace-run pieces
     * with real spaces ("  "), which are spelled back with "▁" so they take part in merges.
     */
    private static String sentencePiece(GgufFile gguf) throws IOException {
        String arch = gguf.getString("general.architecture");
        boolean gemma = arch != null && arch.startsWith("gemma");
        List<?> rawTokens = list(gguf, "tokenizer.ggml.tokens");
        Object typesObj = gguf.metadata().get("tokenizer.ggml.token_type");
        List<?> types = typesObj instanceof List<?> l ? l : null;
        Object scoresObj = gguf.metadata().get("tokenizer.ggml.scores");
        List<?> scores = scoresObj instanceof List<?> l ? l : null;
        boolean prefixSpace = gguf.metadata().get("tokenizer.ggml.add_space_prefix") instanceof Boolean b ? b : !gemma;

        int n = rawTokens.size();
        String[] tokens = new String[n];
        Map<String, Integer> ids = new HashMap<>(2 * n);
        for (int id = 0; id < n; id++) {
            String t = (String) rawTokens.get(id);
            if (gemma && t.contains(" ") && t.isBlank()) t = SPIECE_SPACE.repeat(t.length());
            tokens[id] = t;
            ids.put(t, id); // a repeated piece keeps its last id, as a Python dict built from the list would
        }
        double[] priority = new double[n];
        for (int id = 0; id < n; id++) {
            priority[id] = gemma || scores == null ? -id : ((Number) scores.get(id)).doubleValue();
        }

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < n; id++) {
            int type = types == null ? 1 : ((Number) types.get(id)).intValue();
            String raw = (String) rawTokens.get(id);
            // a user-defined piece is matched whole in the text, unless it was respelled (then it is a normal piece)
            boolean userDefined = type == USER_DEFINED && ids.containsKey(raw);
            if (type == CONTROL || userDefined) {
                ObjectNode t = added.addObject();
                t.put("id", ids.get(raw) == null ? id : ids.get(raw));
                t.put("content", raw);
                t.put("single_word", false);
                t.put("lstrip", false);
                t.put("rstrip", false);
                t.put("normalized", false);
                t.put("special", type == CONTROL);
            }
        }
        if (gemma || !prefixSpace) {
            ObjectNode norm = root.putObject("normalizer");
            norm.put("type", "Replace");
            norm.putObject("pattern").put("String", " ");
            norm.put("content", SPIECE_SPACE);
            // what Hugging Face's Gemma tokenizer has; after the normalizer there are no spaces left to split on
            ObjectNode pre = root.putObject("pre_tokenizer");
            pre.put("type", "Split");
            pre.putObject("pattern").put("String", " ");
            pre.put("behavior", "MergedWithPrevious");
            pre.put("invert", false);
        } else {
            root.putNull("normalizer");
            ObjectNode pre = root.putObject("pre_tokenizer");
            pre.put("type", "Metaspace");
            pre.put("replacement", SPIECE_SPACE);
            pre.put("prepend_scheme", "first");
            pre.put("split", false);
        }
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode replace = decoders.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("String", SPIECE_SPACE);
        replace.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        if (!gemma && prefixSpace) {
            ObjectNode strip = decoders.addObject();
            strip.put("type", "Strip");
            strip.put("content", " ");
            strip.put("start", 1);
            strip.put("stop", 0);
        }
        ObjectNode bpe = root.putObject("model");
        bpe.put("type", "BPE");
        bpe.putNull("dropout");
        long unk = gguf.getLong("tokenizer.ggml.unknown_token_id", -1);
        if (gemma && unk >= 0 && unk < n) bpe.put("unk_token", tokens[(int) unk]);
        else bpe.putNull("unk_token");
        bpe.putNull("continuing_subword_prefix");
        bpe.putNull("end_of_word_suffix");
        bpe.put("fuse_unk", true);
        bpe.put("byte_fallback", true);
        bpe.put("ignore_merges", false);
        ObjectNode vocab = bpe.putObject("vocab");
        for (int id = 0; id < n; id++) {
            if (ids.get(tokens[id]) == id) vocab.put(tokens[id], id);
        }
        ArrayNode mergeArray = bpe.putArray("merges");
        for (String[] m : merges(tokens, ids, priority)) mergeArray.addArray().add(m[0]).add(m[1]);
        return JSON.writeValueAsString(root);
    }

    /**
     * Every split of a piece into two vocabulary pieces, best first: by the merged piece's priority, then longer left
     * part, then longer right part; equal keys keep vocabulary order. Lengths count code points, and splits fall
     * between code points, as Python strings do in Hugging Face's converter, whose order this reproduces.
     */
    static List<String[]> merges(String[] tokens, Map<String, Integer> ids, double[] priority) {
        record Merge(String left, String right, double priority, int leftLen, int rightLen) {}
        List<Merge> all = new ArrayList<>();
        for (int id = 0; id < tokens.length; id++) {
            String t = tokens[id];
            if (ids.get(t) != id) continue; // a repeated piece counts once, at its last id
            int cps = t.codePointCount(0, t.length());
            int cut = 0;
            for (int i = 1; i < cps; i++) {
                cut = t.offsetByCodePoints(cut, 1);
                String left = t.substring(0, cut);
                String right = t.substring(cut);
                if (ids.containsKey(left) && ids.containsKey(right)) all.add(new Merge(left, right, priority[id], i, cps - i));
            }
        }
        // List.sort is stable, as Python's sorted(reverse=True) is for equal keys
        all.sort(Comparator.comparingDouble(Merge::priority).thenComparingInt(Merge::leftLen)
                .thenComparingInt(Merge::rightLen).reversed());
        List<String[]> out = new ArrayList<>(all.size());
        for (Merge m : all) out.add(new String[]{m.left(), m.right()});
        return out;
    }

    private static List<?> list(GgufFile gguf, String key) throws IOException {
        Object v = gguf.metadata().get(key);
        if (!(v instanceof List<?> l)) throw new IOException("GGUF metadata has no array " + key);
        return l;
    }
}
