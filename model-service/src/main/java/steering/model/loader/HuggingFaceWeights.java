package steering.model.loader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import steering.common.safetensors.SafetensorsFile;
import steering.model.runtime.WeightSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/** Weights of a Hugging Face model directory: {@code model.safetensors}, or shards listed in the index file. */
final class HuggingFaceWeights implements WeightSource {
    private final Map<String, SafetensorsFile> fileOf = new HashMap<>();
    private final Map<Path, SafetensorsFile> open = new HashMap<>();

    HuggingFaceWeights(Path dir) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        Path single = dir.resolve("model.safetensors");
        try {
            if (Files.isRegularFile(index)) {
                JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
                if (map == null) throw new IOException(index + ": no weight_map");
                for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    Path shard = dir.resolve(e.getValue().asText()).normalize();
                    if (!shard.startsWith(dir.normalize())) throw new IOException(index + ": shard outside the directory");
                    SafetensorsFile f = open.get(shard);
                    if (f == null) {
                        f = SafetensorsFile.open(shard);
                        open.put(shard, f);
                    }
                    fileOf.put(e.getKey(), f);
                }
            } else if (Files.isRegularFile(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                open.put(single, f);
                for (String name : f.tensors().keySet()) fileOf.put(name, f);
            } else {
                throw new IOException(dir + " has neither model.safetensors nor model.safetensors.index.json");
            }
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    /** The stored dtype of the embedding, e.g. "F32" or "BF16". */
    String storedType() {
        SafetensorsFile f = fileOf.get("model.embed_tokens.weight");
        return f == null ? "unknown" : f.tensor("model.embed_tokens.weight").dtype();
    }

    @Override
    public boolean has(String name) {
        return fileOf.containsKey(name);
    }

    @Override
    public float[] read(String name) throws IOException {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) throw new IOException("the model has no tensor " + name);
        return f.readFloats(name);
    }

    @Override
    public void close() throws IOException {
        for (SafetensorsFile f : open.values()) f.close();
        open.clear();
    }
}
