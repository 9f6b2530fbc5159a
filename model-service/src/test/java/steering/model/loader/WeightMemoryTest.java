package steering.model.loader;

import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import steering.model.TestModels;
import steering.model.runtime.ComputeSettings;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The weights live in memory PyTorch owns, not in the JVM's direct buffers (which -Xmx caps): a loaded SmolLM2 in
 * float32 (538 MB of weights) leaves little direct memory in use once the loader's staging pieces are collected.
 */
class WeightMemoryTest {
    @Test
    void loadedWeightsDoNotPinDirectMemory() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel model = ModelLoader.load(TestModels.smollm2(), manager, 256, ComputeSettings.CPU_FLOAT32)) {
            assertTrue(model.transformer().weightBytes() > 500_000_000L, "the float32 weights are all there");
            long direct = 0;
            for (int i = 0; i < 5; i++) {
                System.gc();
                Thread.sleep(50);
                direct = directBytes();
                if (direct < 64_000_000L) break;
            }
            System.out.printf("direct buffers in use after loading SmolLM2 float32: %.1f MB%n", direct / 1e6);
            assertTrue(direct < 64_000_000L, "direct memory in use: " + direct + " bytes");
        }
    }

    private static long directBytes() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) return pool.getMemoryUsed();
        }
        throw new IllegalStateException("no direct buffer pool");
    }
}
