package steering.common.gguf;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only view of a GGUF file (versions 2 and 3, little-endian).
 *
 * <p>The header (metadata and tensor infos) is parsed eagerly by {@link #open(Path)} through memory-mapped
 * windows; tensor data is memory-mapped on demand, in chunks of at most 1 GiB, so files and tensors larger
 * than 2 GiB are fine. Every count and length read from the file is checked against the file size before
 * anything is allocated, so a malformed or truncated file gives an {@link IOException}.
 *
 * <p>Metadata values are mapped to Java as follows: every integer type (uint8 .. int64, and uint64 too)
 * becomes a {@link Long} (a uint64 above {@code Long.MAX_VALUE} keeps its bits, i.e. reads as negative;
 * use {@link Long#toUnsignedString(long)}); float32 and float64 become {@link Double}; bool becomes
 * {@link Boolean}; string becomes {@link String}; arrays become unmodifiable {@code List<Object>} whose
 * elements follow the same rules.
 *
 * <p>Instances are safe for concurrent reads.
 */
public final class GgufFile implements AutoCloseable {

    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final String ALIGNMENT_KEY = "general.alignment";

    /** Largest tensor data chunk mapped at once. */
    private static final long MAX_CHUNK_BYTES = 1L << 30;
    /** Largest float[] {@link #readFloats} will allocate. */
    private static final long MAX_FLOATS = Integer.MAX_VALUE - 8;
    private static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_NESTING = 16;

    // GGUF metadata value types
    private static final int T_UINT8 = 0;
    private static final int T_INT8 = 1;
    private static final int T_UINT16 = 2;
    private static final int T_INT16 = 3;
    private static final int T_UINT32 = 4;
    private static final int T_INT32 = 5;
    private static final int T_FLOAT32 = 6;
    private static final int T_BOOL = 7;
    private static final int T_STRING = 8;
    private static final int T_ARRAY = 9;
    private static final int T_UINT64 = 10;
    private static final int T_INT64 = 11;
    private static final int T_FLOAT64 = 12;

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final int version;
    private final Map<String, Object> metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final long alignment;
    private final long dataOffset;
    private volatile boolean closed;

    private GgufFile(Path path, FileChannel channel, long fileSize, int version, Map<String, Object> metadata,
                     List<GgufTensorInfo> tensors, Map<String, GgufTensorInfo> tensorsByName, long alignment,
                     long dataOffset) {
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.tensorsByName = tensorsByName;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
    }

    /**
     * Opens and parses a GGUF file. The file stays open (mapped) until {@link #close()}.
     *
     * @throws IOException if the file cannot be read, is not GGUF, is of an unsupported version or
     *                     endianness, or is malformed or truncated
     */
    public static GgufFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            GgufFile f = parse(path, ch);
            ch = null; // now owned by f
            return f;
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException e) {
            // defensive: a parse bug must not escape as an unchecked exception on a bad file
            throw new IOException(path + ": malformed GGUF file (" + e + ")", e);
        } finally {
            if (ch != null) {
                ch.close();
            }
        }
    }

    private static GgufFile parse(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        Cursor c = new Cursor(ch, size, path);
        if (size < 4) {
            throw new EOFException(path + ": too short to be a GGUF file (" + size + " bytes)");
        }
        int magic = c.i32();
        if (magic != MAGIC) {
            throw new IOException(path + ": not a GGUF file (magic 0x" + Integer.toHexString(magic) + ")");
        }
        int version = c.i32();
        if (version != 2 && version != 3) {
            if (version == 0x02000000 || version == 0x03000000) {
                throw new IOException(path + ": big-endian GGUF files are not supported");
            }
            throw new IOException(path + ": unsupported GGUF version " + Integer.toUnsignedString(version)
                    + " (supported: 2, 3)");
        }
        long tensorCount = c.u64NonNegative("tensor count");
        long kvCount = c.u64NonNegative("metadata count");
        // each key/value takes at least 8 (key length) + 4 (type) + 1 bytes
        c.checkCount(kvCount, 13, "metadata count");

        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = c.string("metadata key");
            int type = c.i32();
            Object value = c.value(type, 0, key);
            if (metadata.putIfAbsent(key, value) != null) {
                throw new IOException(path + ": duplicate metadata key '" + key + "'");
            }
        }

        // each tensor info takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes
        c.checkCount(tensorCount, 24, "tensor count");
        record RawInfo(String name, long[] ne, GgmlType type, long relOffset) {
        }
        List<RawInfo> raw = new ArrayList<>((int) Math.min(tensorCount, 1 << 16));
        for (long i = 0; i < tensorCount; i++) {
            String name = c.string("tensor name");
            int nDims = c.i32();
            if (nDims < 0 || nDims > MAX_DIMS) {
                throw new IOException(path + ": tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                        + " dimensions (at most " + MAX_DIMS + " allowed)");
            }
            long[] ne = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                ne[d] = c.u64NonNegative("dimension of tensor '" + name + "'");
            }
            int typeId = c.i32();
            GgmlType type;
            try {
                type = GgmlType.fromId(typeId);
            } catch (IllegalArgumentException e) {
                throw new IOException(path + ": tensor '" + name + "' has unknown ggml type id "
                        + Integer.toUnsignedString(typeId));
            }
            long rel = c.u64NonNegative("offset of tensor '" + name + "'");
            raw.add(new RawInfo(name, ne, type, rel));
        }

        long alignment = DEFAULT_ALIGNMENT;
        Object a = metadata.get(ALIGNMENT_KEY);
        if (a != null) {
            if (!(a instanceof Long al) || al <= 0 || (al & (al - 1)) != 0 || al > (1L << 30)) {
                throw new IOException(path + ": invalid " + ALIGNMENT_KEY + " " + a
                        + " (must be a power of two integer)");
            }
            alignment = al;
        }
        long headerEnd = c.position();
        long dataOffset = alignUp(headerEnd, alignment);

        List<GgufTensorInfo> infos = new ArrayList<>(raw.size());
        Map<String, GgufTensorInfo> byName = new HashMap<>(Math.max(16, raw.size() * 2));
        for (RawInfo r : raw) {
            String what = path + ": tensor '" + r.name() + "'";
            long elements;
            long bytes;
            try {
                elements = 1;
                for (long n : r.ne()) {
                    elements = Math.multiplyExact(elements, n);
                }
                if (r.type().quantized() && r.ne().length > 0 && r.ne()[0] % r.type().blockSize() != 0) {
                    throw new IOException(what + " of type " + r.type() + " has row length " + r.ne()[0]
                            + ", not a multiple of the block size " + r.type().blockSize());
                }
                if (r.type().quantized() && elements % r.type().blockSize() != 0) {
                    throw new IOException(what + " of type " + r.type() + " has " + elements
                            + " elements, not a multiple of the block size " + r.type().blockSize());
                }
                bytes = r.type().byteSize(elements);
            } catch (ArithmeticException e) {
                throw new IOException(what + " is too large (dimensions overflow)");
            }
            if (r.relOffset() % alignment != 0) {
                throw new IOException(what + " has offset " + r.relOffset() + ", not a multiple of the alignment "
                        + alignment);
            }
            long start = dataOffset + r.relOffset();
            if (start < 0 || start > size || bytes > size - start) {
                throw new EOFException(what + " data [" + start + ", +" + bytes + ") lies beyond the end of the file ("
                        + size + " bytes): truncated or corrupt file");
            }
            GgufTensorInfo info = new GgufTensorInfo(r.name(), r.ne(), r.type(), start);
            if (byName.putIfAbsent(r.name(), info) != null) {
                throw new IOException(path + ": duplicate tensor name '" + r.name() + "'");
            }
            infos.add(info);
        }
        return new GgufFile(path, ch, size, version, Collections.unmodifiableMap(metadata),
                Collections.unmodifiableList(infos), byName, alignment, dataOffset);
    }

    private static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** GGUF format version (2 or 3). */
    public int version() {
        return version;
    }

    /** All metadata, in file order; see the class comment for the value types. Unmodifiable. */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /** The string value of {@code key}, or null if absent or not a string. */
    public String getString(String key) {
        return metadata.get(key) instanceof String s ? s : null;
    }

    /** The value of {@code key} as a long if it is a number (integers exactly), else {@code defaultValue}. */
    public long getLong(String key, long defaultValue) {
        return metadata.get(key) instanceof Number n ? n.longValue() : defaultValue;
    }

    /** The value of {@code key} as a double if it is a number, else {@code defaultValue}. */
    public double getDouble(String key, double defaultValue) {
        return metadata.get(key) instanceof Number n ? n.doubleValue() : defaultValue;
    }

    /** Tensor infos in file order. Unmodifiable. */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    /** The tensor named {@code name}, or null. */
    public GgufTensorInfo tensor(String name) {
        return tensorsByName.get(name);
    }

    /** Data alignment in bytes ({@value #DEFAULT_ALIGNMENT} unless {@code general.alignment} says otherwise). */
    public long alignment() {
        return alignment;
    }

    /** Absolute file offset of the tensor data section. */
    public long dataOffset() {
        return dataOffset;
    }

    /**
     * The whole tensor dequantized to float32, in ggml element order ({@code ne[0]} fastest, i.e. row-major
     * for {@link GgufTensorInfo#shapeRowMajor()}).
     *
     * @throws IOException if there is no such tensor, its type cannot be dequantized, it has more elements
     *                     than a Java array can hold, the file was closed, or reading fails
     */
    public float[] readFloats(String name) throws IOException {
        GgufTensorInfo t = tensorsByName.get(name);
        if (t == null) {
            throw new IOException(path + ": no tensor named '" + name + "'");
        }
        return readFloats(t);
    }

    /**
     * As {@link #readFloats(String)}, for a tensor of this file.
     *
     * @throws IllegalArgumentException if {@code t} is not one of this file's {@link #tensors()}
     */
    public float[] readFloats(GgufTensorInfo t) throws IOException {
        if (!t.equals(tensorsByName.get(t.name()))) {
            throw new IllegalArgumentException(t + " is not a tensor of " + path);
        }
        GgmlType type = t.type();
        if (!type.supported()) {
            throw new IOException(path + ": tensor '" + t.name() + "' has ggml type " + type
                    + ", which cannot be dequantized (supported: F32, F16, BF16, F64, I8-I64, Q4_0, Q4_1, Q5_0,"
                    + " Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K)");
        }
        long n = t.elementCount();
        if (n > MAX_FLOATS) {
            throw new IOException(path + ": tensor '" + t.name() + "' has " + n
                    + " elements, too many for one float array");
        }
        float[] out = new float[(int) n];
        long blocks = n / type.blockSize();
        long blocksPerChunk = MAX_CHUNK_BYTES / type.typeSize();
        long pos = t.offset();
        int dst = 0;
        ensureOpen();
        if (channel.size() < t.offset() + t.byteSize()) {
            throw new EOFException(path + ": file shrank below the end of tensor '" + t.name() + "'");
        }
        for (long b = 0; b < blocks; b += blocksPerChunk) {
            long nb = Math.min(blocksPerChunk, blocks - b);
            int bytes = (int) (nb * type.typeSize());
            MappedByteBuffer buf = channel.map(FileChannel.MapMode.READ_ONLY, pos, bytes);
            buf.order(ByteOrder.LITTLE_ENDIAN);
            int count = (int) (nb * type.blockSize());
            Dequantizer.dequantize(type, buf, out, dst, count);
            dst += count;
            pos += bytes;
        }
        return out;
    }

    /**
     * The raw bytes of a tensor, memory-mapped read-only and little-endian (at most 2 GiB). Useful to
     * dequantize part of a tensor with {@link Dequantizer}.
     *
     * @throws IOException if there is no such tensor, it is 2 GiB or larger, or the file was closed
     */
    public ByteBuffer rawData(String name) throws IOException {
        GgufTensorInfo t = tensorsByName.get(name);
        if (t == null) {
            throw new IOException(path + ": no tensor named '" + name + "'");
        }
        long bytes = t.byteSize();
        if (bytes > Integer.MAX_VALUE) {
            throw new IOException(path + ": tensor '" + t.name() + "' is too large to map at once (" + bytes + " bytes)");
        }
        ensureOpen();
        return channel.map(FileChannel.MapMode.READ_ONLY, t.offset(), bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException(path + ": GGUF file is closed");
        }
    }

    /** Closes the file. Idempotent. Buffers mapped earlier stay valid until garbage-collected. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size()
                + " tensors]";
    }

    /** Sequential little-endian reader over memory-mapped windows of the file, checked against its size. */
    private static final class Cursor {
        private static final long WINDOW = 16L << 20;

        private final FileChannel ch;
        private final long size;
        private final Path path;
        private MappedByteBuffer win;
        private long winStart;
        private long pos;

        Cursor(FileChannel ch, long size, Path path) {
            this.ch = ch;
            this.size = size;
            this.path = path;
        }

        long position() {
            return pos;
        }

        long remaining() {
            return size - pos;
        }

        /** Makes {@code n} bytes at {@code pos} available in {@link #win}; returns their index in it. */
        private int need(long n, String what) throws IOException {
            if (n > size - pos) {
                throw new EOFException(path + ": truncated GGUF file: " + what + " needs " + n + " bytes at offset "
                        + pos + " but the file has " + size + " bytes");
            }
            if (n > Integer.MAX_VALUE - 8) {
                throw new IOException(path + ": " + what + " is too long (" + n + " bytes)");
            }
            if (win == null || pos < winStart || pos + n > winStart + win.capacity()) {
                long len = Math.max(n, Math.min(WINDOW, size - pos));
                win = ch.map(FileChannel.MapMode.READ_ONLY, pos, len);
                win.order(ByteOrder.LITTLE_ENDIAN);
                winStart = pos;
            }
            int idx = (int) (pos - winStart);
            pos += n;
            return idx;
        }

        int u8() throws IOException {
            int i = need(1, "a value"); // evaluate before reading win: need() may remap it
            return win.get(i) & 0xFF;
        }

        short i16() throws IOException {
            int i = need(2, "a value");
            return win.getShort(i);
        }

        int i32() throws IOException {
            int i = need(4, "a value");
            return win.getInt(i);
        }

        long i64() throws IOException {
            int i = need(8, "a value");
            return win.getLong(i);
        }

        long u64NonNegative(String what) throws IOException {
            long v = i64();
            if (v < 0) {
                throw new IOException(path + ": " + what + " " + Long.toUnsignedString(v) + " is too large");
            }
            return v;
        }

        /** Checks that {@code count} items of at least {@code minBytes} each can fit in the rest of the file. */
        void checkCount(long count, long minBytes, String what) throws IOException {
            if (count > remaining() / minBytes) {
                throw new EOFException(path + ": " + what + " " + count + " at offset " + pos
                        + " cannot fit in the remaining " + remaining() + " bytes: truncated or corrupt file");
            }
        }

        String string(String what) throws IOException {
            long len = i64();
            if (len < 0 || len > remaining()) {
                throw new EOFException(path + ": " + what + " length " + Long.toUnsignedString(len) + " at offset "
                        + (pos - 8) + " exceeds the remaining " + remaining() + " bytes: truncated or corrupt file");
            }
            if (len == 0) {
                return "";
            }
            int idx = need(len, what);
            byte[] bytes = new byte[(int) len];
            win.get(idx, bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }

        Object value(int type, int depth, String key) throws IOException {
            switch (type) {
                case T_UINT8:
                    return (long) u8();
                case T_INT8:
                    return (long) (byte) u8();
                case T_UINT16:
                    return (long) (i16() & 0xFFFF);
                case T_INT16:
                    return (long) i16();
                case T_UINT32:
                    return i32() & 0xFFFFFFFFL;
                case T_INT32:
                    return (long) i32();
                case T_FLOAT32:
                    return (double) Float.intBitsToFloat(i32());
                case T_BOOL:
                    return u8() != 0;
                case T_STRING:
                    return string("string value of '" + key + "'");
                case T_UINT64:
                case T_INT64:
                    return i64();
                case T_FLOAT64:
                    return Double.longBitsToDouble(i64());
                case T_ARRAY:
                    return array(depth, key);
                default:
                    throw new IOException(path + ": metadata key '" + key + "' has unknown value type "
                            + Integer.toUnsignedString(type));
            }
        }

        private List<Object> array(int depth, String key) throws IOException {
            if (depth >= MAX_ARRAY_NESTING) {
                throw new IOException(path + ": metadata key '" + key + "' nests arrays too deeply");
            }
            int elemType = i32();
            long count = u64NonNegative("array length of '" + key + "'");
            long min = minSize(elemType);
            if (min < 0) {
                throw new IOException(path + ": metadata key '" + key + "' is an array of unknown value type "
                        + Integer.toUnsignedString(elemType));
            }
            checkCount(count, min, "array length of '" + key + "'");
            if (count > Integer.MAX_VALUE - 8) {
                throw new IOException(path + ": array '" + key + "' is too long (" + count + ")");
            }
            List<Object> list = new ArrayList<>((int) count);
            for (long i = 0; i < count; i++) {
                list.add(value(elemType, depth + 1, key));
            }
            return Collections.unmodifiableList(list);
        }

        /** Bytes a value of the type takes at least; -1 for an unknown type. */
        private static long minSize(int type) {
            return switch (type) {
                case T_UINT8, T_INT8, T_BOOL -> 1;
                case T_UINT16, T_INT16 -> 2;
                case T_UINT32, T_INT32, T_FLOAT32 -> 4;
                case T_UINT64, T_INT64, T_FLOAT64, T_STRING -> 8;
                case T_ARRAY -> 12;
                default -> -1;
            };
        }
    }
}
