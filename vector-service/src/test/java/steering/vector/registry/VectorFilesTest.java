package steering.vector.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.gguf.GgmlType;
import steering.common.gguf.GgufFile;
import steering.common.gguf.GgufTensorInfo;
import steering.common.tensor.TensorCodec;
import steering.v1.PositionPolicy;
import steering.v1.SteeringVector;
import steering.v1.VectorFileFormat;
import steering.v1.WeightedFeature;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class VectorFilesTest {
    @TempDir
    Path dir;

    @Test
    void hooksMapToLlamaCppDirectionsByBlockOutput() {
        // direction.N is added to the output of 0-based block N (= blocks.N.hook_resid_post = blocks.{N+1}.hook_resid_pre)
        assertEquals(3, VectorFiles.ggufLayerOf("blocks.3.hook_resid_post", 30));
        assertEquals(3, VectorFiles.ggufLayerOf("blocks.4.hook_resid_pre", 30));
        assertEquals(29, VectorFiles.ggufLayerOf("blocks.29.hook_resid_post", 30));
        assertEquals("blocks.3.hook_resid_post", VectorFiles.hookOfGgufLayer(3));
        // llama.cpp has no slot for block 0's output, nor for anything after attention
        assertThrows(IllegalArgumentException.class, () -> VectorFiles.ggufLayerOf("blocks.0.hook_resid_post", 30));
        assertThrows(IllegalArgumentException.class, () -> VectorFiles.ggufLayerOf("blocks.1.hook_resid_pre", 30));
        assertThrows(IllegalArgumentException.class, () -> VectorFiles.ggufLayerOf("blocks.5.hook_resid_mid", 30));
        assertThrows(IllegalArgumentException.class, () -> VectorFiles.ggufLayerOf("blocks.30.hook_resid_post", 30));
    }

    @Test
    void controlVectorGgufHasTheLlamaCppLayout() throws Exception {
        float[] v = {0.5f, -1.25f, 3f, 0f};
        byte[] bytes = VectorFiles.toGguf(v, 7, "llama", Map.of("steering.vector_id", "x"));
        assertEquals(VectorFileFormat.VECTOR_FILE_FORMAT_GGUF, VectorFiles.detect(bytes));
        Path f = dir.resolve("x.gguf");
        Files.write(f, bytes);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(3, g.version());
            assertEquals("controlvector", g.getString("general.architecture"));
            assertEquals("llama", g.getString("controlvector.model_hint"));
            assertEquals(1L, g.metadata().get("controlvector.layer_count"));
            assertEquals(1, g.tensors().size());
            GgufTensorInfo t = g.tensor("direction.7");
            assertEquals(GgmlType.F32, t.type());
            assertArrayEquals(new long[]{4}, t.ne());
            assertArrayEquals(v, g.readFloats(t));
        }
        VectorFiles.ControlVector back = VectorFiles.readGguf(bytes);
        assertEquals(1, back.directions().size());
        assertArrayEquals(v, back.directions().get(7));
        assertEquals("llama", back.modelHint());
        assertEquals("x", back.strings().get("steering.vector_id"));
    }

    @Test
    void safetensorsCarryTheTensorAndTheVectorsDescription() throws Exception {
        float[] data = {1, 2, 3, 4, 5, 6};
        SteeringVector v = SteeringVector.newBuilder().setId("act").setModelId("m1").setVector(TensorCodec.ofFloats(data, 2, 3))
                .setHook(steering.v1.HookPoint.newBuilder().setName("blocks.1.hook_resid_pre")).setPositions(PositionPolicy.PROMPT_FRONT)
                .setDefaultScale(4).addFeatures(WeightedFeature.newBuilder().setFeature(3).setWeight(0.5)).build();
        byte[] bytes = VectorFiles.toSafetensors(v);
        assertEquals(VectorFileFormat.VECTOR_FILE_FORMAT_SAFETENSORS, VectorFiles.detect(bytes));
        VectorFiles.SafetensorsVector back = VectorFiles.readSafetensors(bytes);
        assertArrayEquals(data, back.data());
        assertArrayEquals(new long[]{2, 3}, back.shape());
        assertEquals("m1", back.metadata().get("model_id"));
        assertEquals("blocks.1.hook_resid_pre", back.metadata().get("hook"));
        assertEquals(PositionPolicy.PROMPT_FRONT, back.described().getPositions());
        assertEquals(4, back.described().getDefaultScale());
        assertEquals(3, back.described().getFeatures(0).getFeature());
        assertFalse(back.described().hasVector(), "the description does not repeat the tensor");
        assertEquals(VectorFileFormat.VECTOR_FILE_FORMAT_UNSPECIFIED, VectorFiles.detect(new byte[]{1, 2, 3}));
        assertThrows(java.io.IOException.class, () -> VectorFiles.readSafetensors(new byte[]{8, 0, 0, 0, 0, 0, 0, 0, '{', '}'}));
    }
}
