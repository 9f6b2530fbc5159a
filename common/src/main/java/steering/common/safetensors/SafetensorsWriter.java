package steering.common.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import steering.common.io.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes float32 tensors in the safetensors format, atomically. */
public final class SafetensorsWriter {
    private record Pending(long[] shape, float[] data) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, long[] shape, float[] data) {
        long n = 1;
        for (long s : shape) n *= s;
        if (n != data.length) throw new IllegalArgumentException(name + ": shape does not match data length");
        tensors.put(name, new Pending(shape.clone(), data));
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path path) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Pending> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            var shape = t.putArray("shape");
            for (long s : e.getValue().shape()) shape.add(s);
            long bytes = 4L * e.getValue().data().length;
            var offs = t.putArray("data_offsets");
            offs.add(offset);
            offs.add(offset + bytes);
            offset += bytes;
        }
        byte[] headerBytes = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (headerBytes.length + 7) / 8 * 8; // the spec recommends 8-byte alignment of the data
        AtomicFiles.write(path, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(headerBytes);
            for (int i = headerBytes.length; i < padded; i++) out.write(' ');
            for (Pending p : tensors.values()) {
                ByteBuffer buf = ByteBuffer.allocate(4 * p.data().length).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(p.data());
                out.write(buf.array());
            }
        });
    }
}
