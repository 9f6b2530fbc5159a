package steering.common.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import steering.common.tensor.HalfFloat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reader for the safetensors format: an 8-byte little-endian header length, a JSON header mapping each tensor name to
 * {dtype, shape, data_offsets}, then the raw little-endian data. Tensors are read on demand and widened to float32.
 */
public final class SafetensorsFile implements AutoCloseable {

    public record TensorEntry(String name, String dtype, long[] shape, long begin, long end) {
        public long elementCount() {
            long n = 1;
            for (long s : shape) n *= s;
            return n;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorEntry> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart,
                            Map<String, TensorEntry> tensors, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) throw new IOException(path + ": too short for a safetensors file");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new IOException(path + ": invalid safetensors header length " + headerLen);
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLen);
            readFully(ch, header, 8);
            JsonNode root = JSON.readTree(header.array());
            long dataStart = 8 + headerLen;
            Map<String, TensorEntry> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                JsonNode t = e.getValue();
                JsonNode shapeNode = t.get("shape");
                JsonNode offsets = t.get("data_offsets");
                if (shapeNode == null || offsets == null || offsets.size() != 2 || t.get("dtype") == null) {
                    throw new IOException(path + ": malformed header entry for " + e.getKey());
                }
                long[] shape = new long[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asLong();
                TensorEntry entry = new TensorEntry(e.getKey(), t.get("dtype").asText(), shape,
                        offsets.get(0).asLong(), offsets.get(1).asLong());
                long expected = entry.elementCount() * dtypeSize(entry.dtype(), path);
                if (entry.begin() < 0 || entry.end() - entry.begin() != expected || dataStart + entry.end() > size) {
                    throw new IOException(path + ": tensor " + e.getKey() + " has inconsistent offsets");
                }
                tensors.put(e.getKey(), entry);
            }
            return new SafetensorsFile(path, ch, dataStart, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException e) {
            ch.close();
            if (e instanceof IOException io) throw io;
            throw new IOException(path + ": malformed safetensors file: " + e.getMessage(), e);
        }
    }

    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorEntry tensor(String name) {
        return tensors.get(name);
    }

    /** Reads a tensor and converts F32, F16 or BF16 to float32, row-major. */
    public float[] readFloats(String name) throws IOException {
        TensorEntry e = tensors.get(name);
        if (e == null) throw new IOException(path + ": no tensor named " + name);
        long bytes = e.end() - e.begin();
        if (bytes > Integer.MAX_VALUE) throw new IOException(path + ": tensor " + name + " too large");
        ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, buf, dataStart + e.begin());
        buf.flip();
        int n = (int) e.elementCount();
        float[] out = new float[n];
        switch (e.dtype()) {
            case "F32" -> buf.asFloatBuffer().get(out);
            case "F16" -> { for (int i = 0; i < n; i++) out[i] = HalfFloat.halfToFloat(buf.getShort()); }
            case "BF16" -> { for (int i = 0; i < n; i++) out[i] = HalfFloat.bf16ToFloat(buf.getShort()); }
            case "F64" -> { for (int i = 0; i < n; i++) out[i] = (float) buf.getDouble(); }
            default -> throw new IOException(path + ": tensor " + name + " has dtype " + e.dtype()
                    + ", expected F32, F16, BF16 or F64");
        }
        return out;
    }

    static long dtypeSize(String dtype, Path path) throws IOException {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> throw new IOException(path + ": unknown safetensors dtype " + dtype);
        };
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) throw new IOException("unexpected end of file");
            pos += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
