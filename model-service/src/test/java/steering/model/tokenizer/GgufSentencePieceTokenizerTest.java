package steering.model.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.gguf.GgufFile;
import steering.common.gguf.GgufWriter;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The SentencePiece branch of {@link GgufTokenizerJson} on a hand-made vocabulary whose expected pieces follow from
 * the rules by hand: merges ranked by vocabulary position for Gemma and by score for Llama, Gemma's whitespace
 * pieces stored with real spaces, user-defined and control pieces matched whole, byte fallback, and the prefix
 * space. (Gemma 3 270M's real 262144-piece vocabulary is checked against transformers in Gemma3ReferenceTest.)
 */
class GgufSentencePieceTokenizerTest {
    private static final int NORMAL = 1;
    private static final int CONTROL = 3;
    private static final int USER_DEFINED = 4;
    private static final int BYTE = 6;

    private final List<String> tokens = new ArrayList<>();
    private final List<Float> scores = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();

    @TempDir
    Path dir;

    private int piece(String text, int type, float score) {
        tokens.add(text);
        types.add(type);
        scores.add(score);
        return tokens.size() - 1;
    }

    /** ids of the vocabulary below, by piece */
    private int bos, startOfTurn, newline2, spaces2, byteBase, space, a, b, c, h, i, ab, bc, spaceA, hi;

    private TextTokenizer tokenizer(String arch, Boolean addSpacePrefix) throws Exception {
        piece("<pad>", CONTROL, 0);
        piece("<eos>", CONTROL, 0);
        bos = piece("<bos>", CONTROL, 0);
        piece("<unk>", CONTROL, 0);
        startOfTurn = piece("<start_of_turn>", CONTROL, 0);
        piece("\n", USER_DEFINED, 0);
        newline2 = piece("\n\n", USER_DEFINED, 0);
        spaces2 = piece("  ", USER_DEFINED, 0);       // llama.cpp's spelling of Gemma's "▁▁"
        byteBase = tokens.size();
        for (int x = 0; x < 256; x++) piece(String.format("<0x%02X>", x), BYTE, 0);
        space = piece("\u2581", NORMAL, -1);
        a = piece("a", NORMAL, -2);
        b = piece("b", NORMAL, -3);
        c = piece("c", NORMAL, -4);
        h = piece("h", NORMAL, -5);
        i = piece("i", NORMAL, -6);
        // "ab" comes first in the vocabulary but scores worse than "bc": Gemma merges by position, Llama by score
        ab = piece("ab", NORMAL, -30);
        bc = piece("bc", NORMAL, -10);
        spaceA = piece("\u2581a", NORMAL, -20);
        hi = piece("hi", NORMAL, -7);

        GgufWriter w = new GgufWriter()
                .put("general.architecture", arch)
                .put("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", tokens)
                .put("tokenizer.ggml.scores", scores)
                .put("tokenizer.ggml.token_type", types)
                .putUint32("tokenizer.ggml.bos_token_id", bos)
                .putUint32("tokenizer.ggml.unknown_token_id", 3);
        if (addSpacePrefix != null) w.put("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        w.addTensor("dummy", new long[]{1}, new float[]{0f});
        Path gguf = dir.resolve(arch + ".gguf");
        w.write(gguf);
        Path json = dir.resolve(arch + "-tokenizer.json");
        try (GgufFile f = GgufFile.open(gguf)) {
            Files.writeString(json, GgufTokenizerJson.build(f), StandardCharsets.UTF_8);
        }
        return new TextTokenizer(json, bos, true, tokens.size());
    }

    @Test
    void gemmaMergesByVocabularyPositionWithoutAPrefixSpace() throws Exception {
        try (TextTokenizer t = tokenizer("gemma3", false)) {
            assertArrayEquals(new int[]{bos, ab, c}, t.encode("abc", true));
            assertArrayEquals(new int[]{hi, spaceA}, t.encode("hi a", false)); // ▁a (earlier) merges before hi
            assertEquals("hi a", t.decode(t.encode("hi a", false), false));
        }
    }

    @Test
    void gemmaWhitespacePiecesNewlinesControlTokensAndByteFallback() throws Exception {
        try (TextTokenizer t = tokenizer("gemma3", false)) {
            // two spaces are one piece once llama.cpp's "  " is spelled "▁▁" again
            assertArrayEquals(new int[]{a, spaces2, b}, t.encode("a  b", false));
            assertArrayEquals(new int[]{a, newline2, b}, t.encode("a\n\nb", false));
            assertArrayEquals(new int[]{startOfTurn, hi}, t.encode("<start_of_turn>hi", false));
            int[] e = t.encode("é", false);
            assertArrayEquals(new int[]{byteBase + 0xC3, byteBase + 0xA9}, e);
            assertEquals("é", t.decode(e, false));
            assertEquals("a  b", t.decode(new int[]{a, spaces2, b}, false));
            assertEquals("hi", t.decode(new int[]{startOfTurn, hi}, true), "control pieces are special");
        }
    }

    @Test
    void llamaMergesByScoreAndPrependsASpace() throws Exception {
        try (TextTokenizer t = tokenizer("llama", null)) {
            // "▁abc": bc (score -10) before ▁a (-20) before ab (-30)
            assertArrayEquals(new int[]{bos, spaceA, bc}, t.encode("abc", true));
            assertEquals("abc", t.decode(t.encode("abc", false), false), "the prepended space is stripped again");
        }
    }
}
