package steering.model.loader;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.safetensors.SafetensorsFile;
import steering.common.safetensors.SafetensorsWriter;
import steering.model.TestModels;
import steering.model.runtime.ForwardStep;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A model split over several safetensors shards with an index file loads to exactly the same forward. */
class ShardedSafetensorsTest {

    @Test
    void shardedDirectoryGivesTheSameLogitsAsTheSingleFile(@TempDir Path dir) throws Exception {
        Path source = TestModels.stories260k();
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) Files.copy(source.resolve(f), dir.resolve(f));
        StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        try (SafetensorsFile single = SafetensorsFile.open(source.resolve("model.safetensors"))) {
            List<String> names = new ArrayList<>(single.tensors().keySet());
            SafetensorsWriter[] shards = {new SafetensorsWriter(), new SafetensorsWriter()};
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                int shard = i % 2;
                shards[shard].add(name, single.tensor(name).shape(), single.readFloats(name));
                index.append(i == 0 ? "" : ",").append('"').append(name).append("\": \"model-0000").append(shard + 1).append("-of-00002.safetensors\"");
            }
            shards[0].write(dir.resolve("model-00001-of-00002.safetensors"));
            shards[1].write(dir.resolve("model-00002-of-00002.safetensors"));
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.append("}}").toString());

        int[] prompt = {1, 403, 407, 261, 378};
        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel a = ModelLoader.load(source, manager, 0);
             LoadedModel b = ModelLoader.load(dir, manager, 0)) {
            float[] la = a.transformer().forward(List.of(new ForwardStep(prompt, 0, -1, List.of(), 0, Set.of())), null).get(0).logits();
            float[] lb = b.transformer().forward(List.of(new ForwardStep(prompt, 0, -1, List.of(), 0, Set.of())), null).get(0).logits();
            assertArrayEquals(la, lb);
        }
    }

    @Test
    void aDirectoryWithoutWeightsIsAClearError(@TempDir Path dir) throws Exception {
        Files.copy(TestModels.stories260k().resolve("config.json"), dir.resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            var e = assertThrows(java.io.IOException.class, () -> ModelLoader.load(dir, manager, 0));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        }
    }
}
