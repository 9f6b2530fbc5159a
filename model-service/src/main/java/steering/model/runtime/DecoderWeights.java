package steering.model.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * The tensors a {@link DecoderTransformer} computes with, fused and converted by the loader
 * ({@code steering.model.loader.DecoderWeightsLoader}), all owned by {@link #manager()} on the compute device.
 *
 * <p>Projection weights are in PyTorch's linear layout [out, in] and in the compute dtype; q, k and v are one
 * [q + 2 kv, d] matrix and gate and up one [2 ffn, d] matrix, so a block runs four products. The attention scale is
 * already folded into W_q (or into q_norm's weight with QK-norm). Norm weights are float32 and already include the
 * family's offset (Gemma scales by 1 + w). postAttnNorm, postMlpNorm, qkNorm and bQkv are null when the family has
 * none.
 */
public record DecoderWeights(NDManager manager, DataType computeType, NDArray embedding, NDArray outputHead,
                             Int8Matrix outputHead8, NDArray finalNorm, Layer[] layers) implements AutoCloseable {

    /**
     * One block's weights; {@code sliding} marks a local (sliding-window) attention layer. The *8 fields are 8-bit
     * copies of the products for single-row steps, null when that path is off (or a matrix is not whole blocks).
     */
    public record Layer(NDArray attnNorm, NDArray wQkv, NDArray bQkv, NDArray qkNorm, NDArray wOut,
                        NDArray postAttnNorm, NDArray mlpNorm, NDArray wGateUp, NDArray wDown, NDArray postMlpNorm,
                        boolean sliding, Int8Matrix wQkv8, Int8Matrix wOut8, Int8Matrix wGateUp8, Int8Matrix wDown8) {}

    /** Bytes of every tensor held (what a batch-1 decode step reads, plus the norms). */
    public long bytes() {
        long total = size(embedding) + (outputHead == embedding ? 0 : size(outputHead)) + size(finalNorm);
        for (Layer l : layers) {
            total += size(l.attnNorm()) + size(l.wQkv()) + size(l.bQkv()) + size(l.qkNorm()) + size(l.wOut())
                    + size(l.postAttnNorm()) + size(l.mlpNorm()) + size(l.wGateUp()) + size(l.wDown())
                    + size(l.postMlpNorm());
        }
        return total;
    }

    /** Bytes of the 8-bit copies (Java heap), 0 when there are none. */
    public long int8Bytes() {
        long total = size(outputHead8);
        for (Layer l : layers) total += size(l.wQkv8()) + size(l.wOut8()) + size(l.wGateUp8()) + size(l.wDown8());
        return total;
    }

    private static long size(Int8Matrix m) {
        return m == null ? 0 : m.bytes();
    }

    private static long size(NDArray a) {
        return a == null ? 0 : a.size() * a.getDataType().getNumOfBytes();
    }

    @Override
    public void close() {
        manager.close();
    }
}
