package steering.model.runtime;

import steering.common.steer.HookPoint;

import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Device and dtype choice, on a machine without a GPU: the GPU count is given, as PyTorch would report it. */
class ComputeSettingsTest {
    @Test
    void weightsCacheAndInterventionsLiveOnTheChosenDevice() throws Exception {
        ComputeSettings cpu16 = new ComputeSettings(ai.djl.Device.cpu(), DataType.FLOAT16);
        try (var manager = ai.djl.ndarray.NDManager.newBaseManager();
             var model = steering.model.loader.ModelLoader.load(steering.model.TestModels.stories260k(), manager, 64, cpu16);
             KvCache cache = new KvCache(model.transformer().manager(), model.config(), 2, 16, 64)) {
            assertEquals(cpu16.device(), model.transformer().manager().getDevice());
            assertEquals(cpu16.device(), cache.keys(0).getDevice());
            assertEquals(DataType.FLOAT32, cache.keys(0).getDataType(), "the cache stays float32");
            var packed = Steering.additions(java.util.List.of(ForwardStep.decode(5, 3, 0, java.util.List.of(new Intervention(
                    new HookPoint(0, HookPoint.Site.POST), new float[model.config().dModel()], 1, 1f,
                    Intervention.Policy.ALL, 0)))), 1, model.config().dModel(), model.transformer().manager());
            assertEquals(cpu16.device(), packed.values().iterator().next().getDevice());
            assertEquals(DataType.FLOAT16, model.transformer().computeType());
        }
    }

    @Test
    void autoPicksTheGpuWithFloat16WhenOneIsVisible() {
        ComputeSettings s = ComputeSettings.resolve("auto", "auto", 1);
        assertTrue(s.device().isGpu());
        assertEquals(DataType.FLOAT16, s.dtype());
        assertEquals("gpu float16", s.describe());
    }

    @Test
    void autoOnACpuFollowsTheCpusNativeHalfSupport() {
        ComputeSettings s = ComputeSettings.resolve("auto", "auto", 0);
        assertFalse(s.device().isGpu());
        assertEquals(ComputeSettings.cpuHasAvx512Fp16() ? DataType.FLOAT16 : DataType.FLOAT32, s.dtype());
    }

    @Test
    void explicitChoicesAreKept() {
        assertEquals(DataType.FLOAT32, ComputeSettings.resolve("cpu", "float32", 1).dtype());
        assertFalse(ComputeSettings.resolve("cpu", "float16", 1).device().isGpu());
        assertEquals(DataType.FLOAT16, ComputeSettings.resolve(" CPU ", "FP16", 0).dtype());
        assertEquals(DataType.FLOAT32, ComputeSettings.resolve("gpu", "float32", 2).dtype());
        assertEquals(ComputeSettings.resolve("auto", "auto", 0), ComputeSettings.resolve("", null, 0), "blank = auto");
    }

    @Test
    void aGpuThatIsNotThereIsRefusedWithTheReason() {
        var e = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.resolve("gpu", "auto", 0));
        assertTrue(e.getMessage().contains("STEERING_DEVICE=gpu"), e.getMessage());
        assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
    }

    @Test
    void bfloat16IsRefusedBecauseDjlCannotReachIt() {
        var e = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.resolve("cpu", "bfloat16", 0));
        assertTrue(e.getMessage().contains("bfloat16"), e.getMessage());
        assertTrue(e.getMessage().contains("float16 or float32"), e.getMessage());
    }

    @Test
    void int8DecodeIsOnByDefaultOnACpuWithTheVectorApiAndNeverOnAGpu() {
        assertTrue(ComputeSettings.resolve("cpu", "auto", "auto", 0, true).int8Decode());
        assertFalse(ComputeSettings.resolve("cpu", "auto", "auto", 0, false).int8Decode(), "no Vector API: PyTorch's");
        assertFalse(ComputeSettings.resolve("auto", "auto", "auto", 1, true).int8Decode(), "a GPU");
        assertFalse(ComputeSettings.resolve("cpu", "float32", "off", 0, true).int8Decode());
        assertTrue(ComputeSettings.resolve("cpu", "float32", "on", 0, true).describe().endsWith("int8 single-sequence decode"));
        var noModule = assertThrows(IllegalArgumentException.class,
                () -> ComputeSettings.resolve("cpu", "auto", "on", 0, false));
        assertTrue(noModule.getMessage().contains("--add-modules jdk.incubator.vector"), noModule.getMessage());
        var gpu = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.resolve("gpu", "auto", "on", 1, true));
        assertTrue(gpu.getMessage().contains("CPU path"), gpu.getMessage());
        var bad = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.resolve("cpu", "auto", "maybe", 0, true));
        assertTrue(bad.getMessage().contains("STEERING_MODEL_INT8_DECODE='maybe'"), bad.getMessage());
    }

    @Test
    void unknownValuesNameTheSettingAndTheAllowedValues() {
        var d = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.resolve("tpu", "auto", 0));
        assertTrue(d.getMessage().contains("STEERING_DEVICE='tpu'") && d.getMessage().contains("auto, cpu or gpu"));
        var t = assertThrows(IllegalArgumentException.class, () -> ComputeSettings.resolve("cpu", "int4", 0));
        assertTrue(t.getMessage().contains("STEERING_MODEL_DTYPE='int4'") && t.getMessage().contains("float16"));
    }
}
