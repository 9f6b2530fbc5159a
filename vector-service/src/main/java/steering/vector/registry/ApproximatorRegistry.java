package steering.vector.registry;

import com.google.protobuf.InvalidProtocolBufferException;
import steering.common.io.AtomicFiles;
import steering.common.safetensors.SafetensorsFile;
import steering.common.safetensors.SafetensorsWriter;
import steering.v1.EffectApproximatorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Effect approximators on disk: one directory per approximator with {@code approximator.safetensors} (W [d_model,
 * d_sae] and b [d_sae] as SAE-TS's adapter stores them, plus the training data: directions [n, d_model], effects
 * [n, d_sae], scales [n]) and {@code metadata.json} (the {@link EffectApproximatorInfo} as protobuf JSON).
 */
public final class ApproximatorRegistry {
    private static final Logger LOG = Logger.getLogger(ApproximatorRegistry.class.getName());
    public static final String TENSOR_FILE = "approximator.safetensors";
    public static final String METADATA_FILE = "metadata.json";

    /** The approximator's matrices. */
    public record Weights(int d, int m, float[] w, float[] b) {}

    /** What a training run produced. */
    public record TrainingData(float[] directions, float[] effects, float[] scales, int n) {}

    private final ArtifactStore store;
    private final Map<String, Weights> cache = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Weights> eldest) {
            return size() > 4;
        }
    };

    public ApproximatorRegistry(Path root) throws IOException {
        this.store = new ArtifactStore(root);
    }

    public Path root() {
        return store.root();
    }

    public boolean exists(String id) {
        return store.dir(id) != null;
    }

    public void save(EffectApproximatorInfo info, Weights weights, TrainingData data, boolean overwrite) throws IOException {
        String json = VectorRegistry.JSON_OUT.print(info);
        Map<String, ArtifactStore.FileBody> files = new LinkedHashMap<>();
        files.put(TENSOR_FILE, f -> {
            SafetensorsWriter w = new SafetensorsWriter()
                    .add("W", new long[]{weights.d(), weights.m()}, weights.w())
                    .add("b", new long[]{weights.m()}, weights.b());
            if (data != null) {
                w.add("directions", new long[]{data.n(), weights.d()}, data.directions())
                        .add("effects", new long[]{data.n(), weights.m()}, data.effects())
                        .add("scales", new long[]{data.n()}, data.scales());
            }
            w.metadata("id", info.getId()).metadata("sae_id", info.getSaeId()).metadata("model_id", info.getModelId())
                    .metadata("hook", info.getHook().getName()).write(f);
        });
        files.put(METADATA_FILE, f -> AtomicFiles.writeString(f, json));
        store.commit(info.getId(), files, overwrite);
        synchronized (cache) {
            cache.remove(info.getId());
        }
    }

    public EffectApproximatorInfo info(String id) throws IOException {
        Path dir = store.dir(id);
        if (dir == null) return null;
        try {
            EffectApproximatorInfo.Builder b = EffectApproximatorInfo.newBuilder();
            VectorRegistry.JSON_IN.merge(Files.readString(dir.resolve(METADATA_FILE)), b);
            return b.build();
        } catch (NoSuchFileException e) {
            return null;
        } catch (InvalidProtocolBufferException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
    }

    public Weights weights(String id) throws IOException {
        synchronized (cache) {
            Weights w = cache.get(id);
            if (w != null) return w;
        }
        Path dir = store.dir(id);
        if (dir == null) return null;
        Weights w;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(TENSOR_FILE))) {
            long[] shape = f.tensor("W").shape();
            w = new Weights((int) shape[0], (int) shape[1], f.readFloats("W"), f.readFloats("b"));
        } catch (NoSuchFileException e) {
            return null;
        }
        synchronized (cache) {
            cache.put(id, w);
        }
        return w;
    }

    public List<EffectApproximatorInfo> list() {
        List<EffectApproximatorInfo> out = new ArrayList<>();
        for (String id : store.ids()) {
            try {
                EffectApproximatorInfo i = info(id);
                if (i != null) out.add(i);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "skipping approximator " + id + ": " + e.getMessage());
            }
        }
        return out;
    }

    public boolean delete(String id) throws IOException {
        synchronized (cache) {
            cache.remove(id);
        }
        return store.delete(id);
    }
}
