package steering.model.runtime;

import java.io.IOException;

/**
 * Float32 weights by their Hugging Face names ({@code model.embed_tokens.weight},
 * {@code model.layers.{i}.self_attn.q_proj.weight}, ...), row-major in Hugging Face layout ([out, in] for linear
 * layers, q/k rows in rotate-half RoPE order), whatever the file format underneath.
 */
public interface WeightSource extends AutoCloseable {
    boolean has(String name);

    float[] read(String name) throws IOException;

    @Override
    void close() throws IOException;
}
