package steering.model.runtime;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;

import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class GoldenGreedyTest {

    @Test
    void stories260kGreedyFromBosReproducesTheGoldenIds() throws Exception {
        int[] golden = Arrays.stream(Files.readString(TestModels.stories260k().resolve("golden-greedy-200.ids")).trim().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();
        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel model = ModelLoader.load(TestModels.stories260k(), manager, 0);
             KvCache cache = new KvCache(manager, model.config(), 1, 64, model.config().contextLength())) {
            int[] ids = new int[golden.length];
            ids[0] = golden[0];
            for (int pos = 0; pos < golden.length - 1; pos++) {
                ForwardResult r = model.transformer().forward(
                        List.of(new ForwardStep(new int[]{ids[pos]}, pos, 0, List.of(), 0, Set.of())), cache).get(0);
                ids[pos + 1] = argmax(r.logits());
            }
            assertArrayEquals(golden, ids);
        }
    }

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
