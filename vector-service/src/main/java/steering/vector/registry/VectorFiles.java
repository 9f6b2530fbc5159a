package steering.vector.registry;

import steering.common.steer.HookPoint;

import com.google.protobuf.InvalidProtocolBufferException;
import steering.common.gguf.GgufFile;
import steering.common.gguf.GgufTensorInfo;
import steering.common.gguf.GgufWriter;
import steering.common.safetensors.SafetensorsFile;
import steering.common.safetensors.SafetensorsWriter;
import steering.common.tensor.TensorCodec;
import steering.v1.SteeringVector;
import steering.v1.VectorFileFormat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Vector files: our safetensors layout and the llama.cpp control-vector GGUF.
 *
 * <p>llama.cpp ({@code common.cpp llama_control_vector_load_one}, {@code llama_adapter_cvec}) and repeng
 * ({@code extract.py}: key {@code layer} = 0-based block, read from {@code hidden_states[layer + 1]}, written as
 * {@code direction.{layer}}) agree: tensor {@code direction.N} is added to the output of the 0-based block N, N >= 1
 * (llama.cpp keeps no slot for N = 0). In TransformerLens names that is {@code blocks.N.hook_resid_post}, which
 * is also {@code blocks.{N+1}.hook_resid_pre}.
 */
public final class VectorFiles {
    public static final String SAFETENSORS_FORMAT = "steering-mesh.vector.v1";
    private static final Pattern DIRECTION = Pattern.compile("direction\\.(\\d+)");

    private VectorFiles() {}

    /** A file's format from its first bytes: GGUF magic, else safetensors (8-byte header length then '{'). */
    public static VectorFileFormat detect(byte[] b) {
        if (b.length >= 4 && b[0] == 'G' && b[1] == 'G' && b[2] == 'U' && b[3] == 'F') return VectorFileFormat.VECTOR_FILE_FORMAT_GGUF;
        if (b.length >= 9 && b[8] == '{') return VectorFileFormat.VECTOR_FILE_FORMAT_SAFETENSORS;
        return VectorFileFormat.VECTOR_FILE_FORMAT_UNSPECIFIED;
    }

    // ------------------------------------------------------------------------------------------------------------
    // safetensors
    // ------------------------------------------------------------------------------------------------------------

    public static byte[] toSafetensors(SteeringVector v) throws IOException {
        float[] data = TensorCodec.toFloats(v.getVector());
        long[] shape = v.getVector().getShapeList().stream().mapToLong(Long::longValue).toArray();
        SafetensorsWriter w = new SafetensorsWriter().add("vector", shape, data)
                .metadata("format", SAFETENSORS_FORMAT)
                .metadata("id", v.getId())
                .metadata("model_id", v.getModelId())
                .metadata("hook", v.getHook().getName())
                .metadata("method", v.getMethod().name())
                .metadata("positions", v.getPositions().name())
                .metadata("from_index", Integer.toString(v.getFromIndex()))
                .metadata("position_marker", v.getPositionMarker())
                .metadata("default_scale", Double.toString(v.getDefaultScale()))
                .metadata("steering_vector", VectorRegistry.JSON_OUT.print(VectorRegistry.metadataOnly(v)));
        return withTempFile(".safetensors", f -> {
            w.write(f);
            return Files.readAllBytes(f);
        });
    }

    /** A safetensors vector: its tensor and, when we wrote it, its metadata. */
    public record SafetensorsVector(float[] data, long[] shape, Map<String, String> metadata, SteeringVector described) {}

    public static SafetensorsVector readSafetensors(byte[] bytes) throws IOException {
        return withTempFile(".safetensors", f -> {
            Files.write(f, bytes);
            try (SafetensorsFile s = SafetensorsFile.open(f)) {
                String name;
                if (s.tensor("vector") != null) name = "vector";
                else if (s.tensors().size() == 1) name = s.tensors().keySet().iterator().next();
                else throw new IOException("the file holds " + s.tensors().size() + " tensors and none is named 'vector'");
                float[] data = s.readFloats(name);
                long[] shape = s.tensor(name).shape();
                SteeringVector described = null;
                String json = s.metadata().get("steering_vector");
                if (json != null) {
                    SteeringVector.Builder b = SteeringVector.newBuilder();
                    try {
                        VectorRegistry.JSON_IN.merge(json, b);
                        described = b.build();
                    } catch (InvalidProtocolBufferException e) {
                        throw new IOException("its steering_vector metadata is not valid: " + e.getMessage(), e);
                    }
                }
                return new SafetensorsVector(data, shape, new LinkedHashMap<>(s.metadata()), described);
            }
        });
    }

    // ------------------------------------------------------------------------------------------------------------
    // llama.cpp control vectors
    // ------------------------------------------------------------------------------------------------------------

    /**
     * The N of {@code direction.N} for a hook: blocks.N.hook_resid_post, or blocks.{N+1}.hook_resid_pre.
     *
     * @throws IllegalArgumentException with the reason when llama.cpp cannot express the hook
     */
    public static int ggufLayerOf(String hook, int nLayers) {
        HookPoint h = HookPoint.parse(hook);
        int block = h.layer();
        int n = switch (h.site()) {
            case POST -> block;
            case PRE -> block - 1;
            case MID -> throw new IllegalArgumentException(hook + ": llama.cpp control vectors add to block outputs only "
                    + "(hook_resid_post, or the next block's hook_resid_pre), not after attention");
        };
        if (n < 1) throw new IllegalArgumentException(hook + ": llama.cpp has no control-vector slot for the output of "
                + "block " + n + " (direction.N needs N >= 1, i.e. blocks.{1.." + (nLayers - 1) + "}.hook_resid_post)");
        if (n > nLayers - 1) throw new IllegalArgumentException(hook + " is beyond the model's " + nLayers + " blocks");
        return n;
    }

    public static String hookOfGgufLayer(int n) {
        return "blocks." + n + ".hook_resid_post";
    }

    public static byte[] toGguf(float[] direction, int layer, String modelHint, Map<String, String> extra) throws IOException {
        GgufWriter w = new GgufWriter()
                .put("general.architecture", "controlvector")
                .put("controlvector.model_hint", modelHint)
                .putUint32("controlvector.layer_count", 1); // repeng writes the number of direction tensors
        for (Map.Entry<String, String> e : extra.entrySet()) w.put(e.getKey(), e.getValue());
        w.addTensor("direction." + layer, new long[]{direction.length}, direction);
        return withTempFile(".gguf", f -> {
            w.write(f);
            return Files.readAllBytes(f);
        });
    }

    /** A control vector file: its directions by layer N, its model hint and string metadata. */
    public record ControlVector(TreeMap<Integer, float[]> directions, String architecture, String modelHint,
                                Map<String, String> strings) {}

    public static ControlVector readGguf(byte[] bytes) throws IOException {
        return withTempFile(".gguf", f -> {
            Files.write(f, bytes);
            try (GgufFile g = GgufFile.open(f)) {
                TreeMap<Integer, float[]> dirs = new TreeMap<>();
                for (GgufTensorInfo t : g.tensors()) {
                    Matcher m = DIRECTION.matcher(t.name());
                    if (!m.matches()) continue;
                    if (t.nDims() != 1) throw new IOException("tensor " + t.name() + " has " + t.nDims() + " dimensions; control vectors are 1-D");
                    dirs.put(Integer.parseInt(m.group(1)), g.readFloats(t));
                }
                Map<String, String> strings = new LinkedHashMap<>();
                g.metadata().forEach((k, v) -> {
                    if (v instanceof String s) strings.put(k, s);
                });
                return new ControlVector(dirs, g.getString("general.architecture"), g.getString("controlvector.model_hint"), strings);
            }
        });
    }

    @FunctionalInterface
    private interface FileJob<T> {
        T run(Path file) throws IOException;
    }

    private static <T> T withTempFile(String suffix, FileJob<T> job) throws IOException {
        Path dir = Files.createTempDirectory("vector-file");
        Path file = dir.resolve("v" + suffix);
        try {
            return job.run(file);
        } catch (IOException e) {
            // the readers name the file they read; the caller sent bytes, and this server's paths are not its business
            String message = String.valueOf(e.getMessage()).replace(file.toString(), "the file").replace(dir.toString(), "the file");
            throw new IOException(message, e);
        } finally {
            ArtifactStore.deleteTree(dir);
        }
    }
}
