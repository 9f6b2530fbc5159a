package steering.common.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a small little-endian GGUF v3 file with metadata and float32 tensors.
 *
 * <p>Java values map to GGUF metadata types as follows: {@link String} to string, {@link Integer} to int32,
 * {@link Long} to int64, {@link Short} to int16, {@link Byte} to int8, {@link Float} to float32,
 * {@link Double} to float64, {@link Boolean} to bool, and a {@link List} (or {@code int[]}, {@code long[]},
 * {@code float[]}, {@code double[]}, {@code String[]}) to an array whose element type is that of its
 * elements (all elements must map to the same type; lists may nest; an empty list is written as an empty
 * array of strings). {@link #putUint32} and {@link #putUint64} write unsigned integers. The key
 * {@code general.alignment} is always written as uint32, as the specification requires, and sets the data
 * alignment (default 32).
 *
 * <p>{@link #write(Path)} is atomic: the file is written to a temporary file in the same directory, forced to
 * disk and renamed over the target. {@link GgufFile} reads back integers as {@link Long} and floats as
 * {@link Double}.
 */
public final class GgufWriter {

    private static final int T_UINT8 = 0;
    private static final int T_INT8 = 1;
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

    /** A metadata value with its GGUF type; for arrays {@code value} is a List of Typed. */
    private record Typed(int type, Object value) {
    }

    private record Tensor(String name, long[] ne, float[] data) {
    }

    private final Map<String, Typed> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    public GgufWriter() {
    }

    /**
     * Sets a metadata value (replacing any earlier value of the key; keys keep their first insertion order).
     *
     * @throws IllegalArgumentException if the value's type has no GGUF mapping (see the class comment)
     */
    public GgufWriter put(String key, Object value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Typed t = isAlignmentKey(key) ? alignmentValue(value) : typed(value, 0);
        metadata.put(key, t);
        return this;
    }

    /** Sets an unsigned 32-bit metadata value ({@code 0 <= value < 2^32}). */
    public GgufWriter putUint32(String key, long value) {
        Objects.requireNonNull(key, "key");
        if (value < 0 || value > 0xFFFFFFFFL) {
            throw new IllegalArgumentException(key + ": " + value + " does not fit in uint32");
        }
        if (isAlignmentKey(key)) {
            return put(key, value);
        }
        metadata.put(key, new Typed(T_UINT32, value));
        return this;
    }

    /** Sets an unsigned 64-bit metadata value (the bits of {@code value}). */
    public GgufWriter putUint64(String key, long value) {
        Objects.requireNonNull(key, "key");
        if (isAlignmentKey(key)) {
            return put(key, value);
        }
        metadata.put(key, new Typed(T_UINT64, value));
        return this;
    }

    /**
     * Adds a float32 tensor. {@code ne} are the ggml dimensions, fastest-varying first (a row-major
     * {@code [rows, cols]} matrix has {@code ne = {cols, rows}}); {@code data} is copied.
     *
     * @throws IllegalArgumentException if the name is taken, there are not 1..4 dimensions, a dimension is
     *                                  negative, or the data length is not the product of the dimensions
     */
    public GgufWriter addTensor(String name, long[] ne, float[] data) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(ne, "ne");
        Objects.requireNonNull(data, "data");
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        }
        if (ne.length < 1 || ne.length > 4) {
            throw new IllegalArgumentException("tensor '" + name + "' must have 1 to 4 dimensions, has " + ne.length);
        }
        long n = 1;
        for (long d : ne) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension: "
                        + Arrays.toString(ne));
            }
            n = Math.multiplyExact(n, d);
        }
        if (n != data.length) {
            throw new IllegalArgumentException("tensor '" + name + "' has dimensions " + Arrays.toString(ne)
                    + " (" + n + " elements) but " + data.length + " values");
        }
        tensors.put(name, new Tensor(name, ne.clone(), data.clone()));
        return this;
    }

    /** Writes the file atomically, replacing any existing file at {@code path}. */
    public void write(Path path) throws IOException {
        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null) {
            throw new IOException("no parent directory for " + path);
        }
        long alignment = GgufFile.DEFAULT_ALIGNMENT;
        Typed a = metadata.get(GgufFile.ALIGNMENT_KEY);
        if (a != null) {
            alignment = (Long) a.value();
        }
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        boolean moved = false;
        try {
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException | IOException ignored) {
                // not a POSIX file system: keep the default permissions
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                Out out = new Out(ch);
                writeTo(out, alignment);
                out.flush();
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
            fsyncDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private void writeTo(Out out, long alignment) throws IOException {
        out.i32(GgufFile.MAGIC);
        out.i32(3);
        out.i64(tensors.size());
        out.i64(metadata.size());
        for (Map.Entry<String, Typed> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.i32(e.getValue().type());
            writeValue(out, e.getValue());
        }
        long rel = 0;
        for (Tensor t : tensors.values()) {
            out.string(t.name());
            out.i32(t.ne().length);
            for (long d : t.ne()) {
                out.i64(d);
            }
            out.i32(GgmlType.F32.id());
            out.i64(rel);
            rel = alignUp(rel + 4L * t.data().length, alignment);
        }
        out.pad(alignment);
        for (Tensor t : tensors.values()) {
            for (float f : t.data()) {
                out.f32(f);
            }
            out.pad(alignment);
        }
    }

    @SuppressWarnings("unchecked")
    private static void writeValue(Out out, Typed t) throws IOException {
        switch (t.type()) {
            case T_UINT8, T_INT8 -> out.u8(((Number) t.value()).intValue());
            case T_INT16 -> out.i16(((Number) t.value()).shortValue());
            case T_UINT32, T_INT32 -> out.i32(((Number) t.value()).intValue());
            case T_UINT64, T_INT64 -> out.i64(((Number) t.value()).longValue());
            case T_FLOAT32 -> out.i32(Float.floatToRawIntBits(((Number) t.value()).floatValue()));
            case T_FLOAT64 -> out.i64(Double.doubleToRawLongBits(((Number) t.value()).doubleValue()));
            case T_BOOL -> out.u8((Boolean) t.value() ? 1 : 0);
            case T_STRING -> out.string((String) t.value());
            case T_ARRAY -> {
                // array value: element type, length, elements (a nested array element repeats this layout)
                List<Typed> elems = (List<Typed>) t.value();
                out.i32(elems.isEmpty() ? T_STRING : elems.get(0).type());
                out.i64(elems.size());
                for (Typed e : elems) {
                    writeValue(out, e);
                }
            }
            default -> throw new IllegalStateException("type " + t.type());
        }
    }

    private static boolean isAlignmentKey(String key) {
        return GgufFile.ALIGNMENT_KEY.equals(key);
    }

    private static Typed alignmentValue(Object value) {
        if (!(value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte)) {
            throw new IllegalArgumentException(GgufFile.ALIGNMENT_KEY + " must be an integer, got " + value);
        }
        long v = ((Number) value).longValue();
        if (v <= 0 || (v & (v - 1)) != 0 || v > (1L << 30)) {
            throw new IllegalArgumentException(GgufFile.ALIGNMENT_KEY + " must be a power of two, got " + v);
        }
        return new Typed(T_UINT32, v);
    }

    private static Typed typed(Object v, int depth) {
        if (v instanceof String) {
            return new Typed(T_STRING, v);
        } else if (v instanceof Integer) {
            return new Typed(T_INT32, v);
        } else if (v instanceof Long) {
            return new Typed(T_INT64, v);
        } else if (v instanceof Short) {
            return new Typed(T_INT16, v);
        } else if (v instanceof Byte) {
            return new Typed(T_INT8, v);
        } else if (v instanceof Float) {
            return new Typed(T_FLOAT32, v);
        } else if (v instanceof Double) {
            return new Typed(T_FLOAT64, v);
        } else if (v instanceof Boolean) {
            return new Typed(T_BOOL, v);
        } else if (v instanceof List<?> list) {
            return array(list, depth);
        } else if (v instanceof int[] a) {
            return array(Arrays.stream(a).boxed().toList(), depth);
        } else if (v instanceof long[] a) {
            return array(Arrays.stream(a).boxed().toList(), depth);
        } else if (v instanceof double[] a) {
            return array(Arrays.stream(a).boxed().toList(), depth);
        } else if (v instanceof float[] a) {
            List<Float> l = new ArrayList<>(a.length);
            for (float f : a) {
                l.add(f);
            }
            return array(l, depth);
        } else if (v instanceof String[] a) {
            return array(Arrays.asList(a), depth);
        }
        throw new IllegalArgumentException("no GGUF metadata type for " + (v == null ? "null" : v.getClass().getName()));
    }

    private static Typed array(List<?> list, int depth) {
        if (depth >= 8) {
            throw new IllegalArgumentException("metadata arrays nested too deeply");
        }
        List<Typed> elems = new ArrayList<>(list.size());
        for (Object o : list) {
            Objects.requireNonNull(o, "null array element");
            Typed t = typed(o, depth + 1);
            if (!elems.isEmpty() && elems.get(0).type() != t.type()) {
                throw new IllegalArgumentException("array elements of different types: " + list);
            }
            elems.add(t);
        }
        return new Typed(T_ARRAY, List.copyOf(elems));
    }

    private static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static void fsyncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | RuntimeException ignored) {
            // not possible on every platform; the rename itself is already done
        }
    }

    /** Buffered little-endian output to a channel that counts the bytes written. */
    private static final class Out {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Out(FileChannel ch) {
            this.ch = ch;
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            buf.clear();
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
            written += 1;
        }

        void i16(short v) throws IOException {
            room(2);
            buf.putShort(v);
            written += 2;
        }

        void i32(int v) throws IOException {
            room(4);
            buf.putInt(v);
            written += 4;
        }

        void i64(long v) throws IOException {
            room(8);
            buf.putLong(v);
            written += 8;
        }

        void f32(float v) throws IOException {
            room(4);
            buf.putFloat(v);
            written += 4;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            int off = 0;
            while (off < b.length) {
                room(1);
                int n = Math.min(buf.remaining(), b.length - off);
                buf.put(b, off, n);
                off += n;
            }
            written += b.length;
        }

        void pad(long alignment) throws IOException {
            long target = alignUp(written, alignment);
            while (written < target) {
                u8(0);
            }
        }
    }
}
