package steering.model.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Keys and values of every layer for a fixed number of sequence slots: per layer a [slots, n_kv_heads, capacity,
 * head_dim] tensor. Capacity grows by doubling (up to the context length), so short requests cost little memory.
 * Each slot belongs to one running sequence; the engine keeps the running ones in slots 0..n-1 so that a batched
 * decode step can take a contiguous view of the first n slots. It also keeps the decode batch's packed interventions
 * ({@link DecodeSteering}): like the keys and values, they belong to the one engine that runs these slots.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final int slots;
    private final int nKvHeads;
    private final int headDim;
    private final int maxCapacity;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final DecodeSteering decodeSteering;
    private int capacity;

    public KvCache(NDManager parent, ModelConfig config, int slots, int initialCapacity, int maxCapacity) {
        this.manager = parent.newSubManager();
        this.slots = slots;
        this.nKvHeads = config.nKvHeads();
        this.headDim = config.headDim();
        this.maxCapacity = maxCapacity;
        this.capacity = Math.min(initialCapacity, maxCapacity);
        this.decodeSteering = new DecodeSteering(manager, config.dModel());
        this.keys = new NDArray[config.nLayers()];
        this.values = new NDArray[config.nLayers()];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = manager.zeros(new Shape(slots, nKvHeads, capacity, headDim), DataType.FLOAT32);
            values[l] = manager.zeros(new Shape(slots, nKvHeads, capacity, headDim), DataType.FLOAT32);
        }
    }

    public int slots() {
        return slots;
    }

    public int capacity() {
        return capacity;
    }

    public int maxCapacity() {
        return maxCapacity;
    }

    DecodeSteering decodeSteering() {
        return decodeSteering;
    }

    NDArray keys(int layer) {
        return keys[layer];
    }

    NDArray values(int layer) {
        return values[layer];
    }

    /** Makes room for {@code length} positions per slot, copying what is cached into larger tensors. */
    public void ensureCapacity(int length) {
        if (length <= capacity) return;
        if (length > maxCapacity) {
            throw new IllegalStateException("KV cache needs " + length + " positions, its limit is " + maxCapacity);
        }
        int newCapacity = capacity;
        while (newCapacity < length) newCapacity = Math.min(maxCapacity, newCapacity * 2);
        NDIndex old = new NDIndex(":, :, :{}, :", capacity);
        for (int l = 0; l < keys.length; l++) {
            keys[l] = grow(keys[l], newCapacity, old);
            values[l] = grow(values[l], newCapacity, old);
        }
        capacity = newCapacity;
    }

    private NDArray grow(NDArray current, int newCapacity, NDIndex old) {
        NDArray bigger = manager.zeros(new Shape(slots, nKvHeads, newCapacity, headDim), DataType.FLOAT32);
        bigger.set(old, current);
        current.close();
        return bigger;
    }

    /** Copies the first {@code length} positions of slot {@code from} into slot {@code to}. */
    public void moveSlot(int from, int to, int length) {
        if (from == to || length == 0) return;
        NDIndex src = new NDIndex("{}, :, :{}, :", from, length);
        NDIndex dst = new NDIndex("{}, :, :{}, :", to, length);
        for (int l = 0; l < keys.length; l++) {
            try (NDArray k = keys[l].get(src); NDArray v = values[l].get(src)) {
                keys[l].set(dst, k);
                values[l].set(dst, v);
            }
        }
    }

    public long bytes() {
        return 2L * keys.length * slots * nKvHeads * (long) capacity * headDim * 4;
    }

    @Override
    public void close() {
        decodeSteering.close();
        manager.close();
    }
}
