package steering.vector.registry;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import steering.common.io.AtomicFiles;
import steering.common.safetensors.SafetensorsFile;
import steering.common.safetensors.SafetensorsWriter;
import steering.common.tensor.TensorCodec;
import steering.v1.SteeringVector;
import steering.v1.Tensor;
import steering.v1.VectorCalibration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The vector registry on disk: one directory per vector holding {@code vector.safetensors} (tensor "vector",
 * [d_model] or [n, d_model]) and {@code metadata.json} (the {@link SteeringVector} without its tensor, as protobuf
 * JSON: model id, hook, method, the full recipe, sources, created-at, norm, calibration). Both files are committed
 * together through {@link ArtifactStore}.
 */
public final class VectorRegistry {
    private static final Logger LOG = Logger.getLogger(VectorRegistry.class.getName());
    public static final String TENSOR_FILE = "vector.safetensors";
    public static final String METADATA_FILE = "metadata.json";
    static final JsonFormat.Printer JSON_OUT = JsonFormat.printer().preservingProtoFieldNames();
    static final JsonFormat.Parser JSON_IN = JsonFormat.parser().ignoringUnknownFields();

    private final ArtifactStore store;

    public VectorRegistry(Path root) throws IOException {
        this.store = new ArtifactStore(root);
    }

    public Path root() {
        return store.root();
    }

    /** Stores a vector (which must carry its tensor). */
    public void save(SteeringVector v, boolean overwrite) throws IOException {
        if (!v.hasVector()) throw new IllegalArgumentException("the vector has no tensor");
        float[] data = TensorCodec.toFloats(v.getVector());
        long[] shape = v.getVector().getShapeList().stream().mapToLong(Long::longValue).toArray();
        String json = JSON_OUT.print(metadataOnly(v));
        Map<String, ArtifactStore.FileBody> files = new LinkedHashMap<>();
        files.put(TENSOR_FILE, f -> new SafetensorsWriter().add("vector", shape, data)
                .metadata("id", v.getId()).metadata("model_id", v.getModelId()).metadata("hook", v.getHook().getName())
                .write(f));
        files.put(METADATA_FILE, f -> AtomicFiles.writeString(f, json));
        store.commit(v.getId(), files, overwrite);
    }

    static SteeringVector metadataOnly(SteeringVector v) {
        return v.toBuilder().clearVector().clearIntervention().build();
    }

    /** The stored vector with its tensor, or null. */
    public SteeringVector get(String id) throws IOException {
        Path dir = store.dir(id);
        if (dir == null) return null;
        try {
            SteeringVector meta = readMetadata(dir);
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(TENSOR_FILE))) {
                float[] data = f.readFloats("vector");
                long[] shape = f.tensor("vector").shape();
                Tensor t = TensorCodec.ofFloats(data, shape);
                return meta.toBuilder().setVector(t).build();
            }
        } catch (NoSuchFileException e) {
            return null; // deleted while we read
        }
    }

    static SteeringVector readMetadata(Path dir) throws IOException {
        String json = Files.readString(dir.resolve(METADATA_FILE));
        SteeringVector.Builder b = SteeringVector.newBuilder();
        try {
            JSON_IN.merge(json, b);
        } catch (InvalidProtocolBufferException e) {
            throw new IOException(dir.resolve(METADATA_FILE) + ": " + e.getMessage(), e);
        }
        return b.build();
    }

    /** Every stored vector (metadata only, or with tensors), newest first. */
    public List<SteeringVector> list(boolean withData) {
        List<SteeringVector> out = new ArrayList<>();
        for (String id : store.ids()) {
            try {
                SteeringVector v = withData ? get(id) : metadataOf(id);
                if (v != null) out.add(v);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "skipping vector " + id + ": " + e.getMessage());
            }
        }
        out.sort(Comparator.comparing((SteeringVector v) -> v.getCreatedAt().getSeconds())
                .thenComparing(v -> v.getCreatedAt().getNanos()).reversed());
        return out;
    }

    private SteeringVector metadataOf(String id) throws IOException {
        Path dir = store.dir(id);
        if (dir == null) return null;
        try {
            return readMetadata(dir);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    public boolean delete(String id) throws IOException {
        return store.delete(id);
    }

    /** Stores a calibration with the vector and makes its best scale the default scale; null if the id is unknown. */
    public synchronized SteeringVector setCalibration(String id, VectorCalibration calibration) throws IOException {
        SteeringVector v = get(id);
        if (v == null) return null;
        SteeringVector updated = v.toBuilder().setCalibration(calibration).setDefaultScale(calibration.getBestScale()).build();
        String json = JSON_OUT.print(metadataOnly(updated));
        try {
            store.replaceFile(id, METADATA_FILE, f -> AtomicFiles.writeString(f, json));
        } catch (NoSuchFileException e) {
            return null;
        }
        return updated;
    }
}
