package steering.model.loader;

import steering.model.runtime.DecoderTransformer;
import steering.model.runtime.ModelConfig;
import steering.model.tokenizer.ChatTemplate;
import steering.model.tokenizer.TextTokenizer;

/** A model ready to run: its configuration, forward, tokenizer and chat template (null when it has none). */
public record LoadedModel(ModelConfig config, DecoderTransformer transformer, TextTokenizer tokenizer,
                          ChatTemplate chatTemplate) implements AutoCloseable {
    @Override
    public void close() {
        transformer.close();
        tokenizer.close();
    }
}
