package steering.model.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The model's tokenizer, through Hugging Face {@code tokenizers} (DJL's binding). Special-token handling is ours:
 * the tokenizer never adds BOS by itself; {@link #encode(String, boolean)} prepends it when asked, so that one rule
 * holds for Hugging Face directories and for GGUF files.
 */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer hf;
    private final int bosTokenId;
    private final boolean addBosByDefault;
    private final int vocabSize;

    public TextTokenizer(Path tokenizerJson, int bosTokenId, boolean addBosByDefault, int vocabSize) throws IOException {
        this.hf = HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of(
                "addSpecialTokens", "false",
                "truncation", "false",
                "padding", "false",
                "maxLength", String.valueOf(Integer.MAX_VALUE),
                "tokenizer", tokenizerJson.toString()));
        this.bosTokenId = bosTokenId;
        this.addBosByDefault = addBosByDefault;
        this.vocabSize = vocabSize;
    }

    public boolean addsBosByDefault() {
        return addBosByDefault && bosTokenId >= 0;
    }

    public int bosTokenId() {
        return bosTokenId;
    }

    /** Token ids of {@code text}; special tokens written in the text (e.g. "<|im_start|>") become their ids. */
    public int[] encode(String text, boolean addBos) {
        Encoding enc = hf.encode(text, false, false);
        long[] ids = enc.getIds();
        boolean bos = addBos && bosTokenId >= 0;
        int[] out = new int[ids.length + (bos ? 1 : 0)];
        int o = 0;
        if (bos) out[o++] = bosTokenId;
        for (long id : ids) out[o++] = (int) id;
        return out;
    }

    public String[] pieces(String text) {
        return hf.encode(text, false, false).getTokens();
    }

    public String decode(int[] ids, boolean skipSpecialTokens) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new IllegalArgumentException("token id " + ids[i] + " is out of range [0, " + (vocabSize - 1) + "]");
            }
            l[i] = ids[i];
        }
        return hf.decode(l, skipSpecialTokens);
    }

    @Override
    public void close() {
        hf.close();
    }
}
