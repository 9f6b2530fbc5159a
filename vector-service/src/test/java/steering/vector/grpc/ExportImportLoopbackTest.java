package steering.vector.grpc;

import steering.common.steer.VectorTensor;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.gguf.GgufFile;
import steering.common.gguf.GgufWriter;
import steering.common.safetensors.SafetensorsWriter;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static steering.vector.grpc.Effects.assertStatus;
import static steering.vector.grpc.Effects.logprob;

/** Export to safetensors and llama.cpp control-vector GGUF, import back, and the steering is the same. */
class ExportImportLoopbackTest {
    static TestMesh mesh;
    static SteeringVector caaMean, actAdd;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
        caaMean = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("export-caa-mean")
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_post"))
                        .addPositive("The dog barked.").addPositive("A big dog ran.").addNegative("The cat slept.").addNegative("A small cat sat."))
                .build()).getVector();
        actAdd = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("export-actadd")
                .setActadd(ActAddRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.1.hook_resid_pre"))
                        .setPositive("Lily was happy").setNegative("Lily was sad").setCoefficient(3))
                .build()).getVector();
    }

    static ExportVectorResponse export(String id, VectorFileFormat f) {
        return mesh.vectors().exportVector(ExportVectorRequest.newBuilder().setId(id).setFormat(f).build());
    }

    static SteeringVector importFile(String id, ImportFileRecipe.Builder file) {
        return mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId(id).setFile(file).build()).getVector();
    }

    @Test
    void safetensorsRoundTripKeepsTensorHookPolicyAndScale() {
        ExportVectorResponse e = export(actAdd.getId(), VectorFileFormat.VECTOR_FILE_FORMAT_SAFETENSORS);
        assertEquals("export-actadd.safetensors", e.getFileName());
        SteeringVector back = importFile("imported-actadd", ImportFileRecipe.newBuilder().setData(e.getData()));
        assertEquals(VectorMethod.VECTOR_METHOD_IMPORTED, back.getMethod());
        assertEquals("VECTOR_METHOD_ACTADD", back.getMetadataOrThrow("imported_method"));
        assertEquals(VectorTensor.of(actAdd), VectorTensor.of(back));
        assertEquals(actAdd.getHook(), back.getHook());
        assertEquals(PositionPolicy.PROMPT_FRONT, back.getPositions());
        assertEquals(3.0, back.getDefaultScale());
        assertEquals(actAdd.getNorm(), back.getNorm(), 1e-9);
        // the registry lists both, filtered by method
        List<String> imported = mesh.vectors().listVectors(ListVectorsRequest.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_IMPORTED).build())
                .getVectorsList().stream().map(SteeringVector::getId).toList();
        assertTrue(imported.contains("imported-actadd") && !imported.contains("export-actadd"), imported.toString());
    }

    @Test
    void ggufControlVectorHoldsTheScaledDirectionOfTheBlockOutput() throws Exception {
        ExportVectorResponse e = mesh.vectors().exportVector(ExportVectorRequest.newBuilder().setId(caaMean.getId())
                .setFormat(VectorFileFormat.VECTOR_FILE_FORMAT_GGUF).setScale(3).build());
        assertEquals(0, e.getWarningsCount());
        Path f = dir.resolve(e.getFileName());
        Files.write(f, e.getData().toByteArray());
        float[] v = TensorCodec.toFloats(VectorTensor.of(caaMean));
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("controlvector", g.getString("general.architecture"));
            assertEquals("llama", g.getString("controlvector.model_hint"));
            assertEquals(1L, g.metadata().get("controlvector.layer_count"));
            assertEquals(List.of("direction.2"), g.tensors().stream().map(t -> t.name()).toList(), "blocks.2.hook_resid_post is block 2's output");
            float[] d = g.readFloats("direction.2");
            for (int i = 0; i < v.length; i++) assertEquals(3 * v[i], d[i], 1e-6);
        }
        SteeringVector back = importFile("imported-gguf", ImportFileRecipe.newBuilder().setData(e.getData()));
        assertEquals("blocks.2.hook_resid_post", back.getHook().getName());
        assertEquals(PositionPolicy.ALL, back.getPositions());
        assertEquals(1.0, back.getDefaultScale());
        // the imported vector at scale 1 steers exactly as the original at scale 3
        String prompt = "Once upon a time, there was a little";
        double original = logprob(mesh, prompt, " dog", Effects.scaled(caaMean, 3));
        double imported = logprob(mesh, prompt, " dog", back.getIntervention());
        assertEquals(original, imported, 1e-4);
        assertNotEquals(logprob(mesh, prompt, " dog"), imported, 0.01);
    }

    @Test
    void residPreOfTheNextBlockIsTheSameSlotAndFromIndexIsWarnedAbout() throws Exception {
        SteeringVector pre = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("export-pre")
                .setRaw(RawVectorRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.3.hook_resid_pre"))
                        .setVector(VectorTensor.of(caaMean)).setPositions(PositionPolicy.FROM_INDEX).setPositionMarker("\nResponse:"))
                .build()).getVector();
        ExportVectorResponse e = export(pre.getId(), VectorFileFormat.VECTOR_FILE_FORMAT_GGUF);
        VectorFileFormat fmt = e.getFormat();
        assertEquals(VectorFileFormat.VECTOR_FILE_FORMAT_GGUF, fmt);
        assertEquals(2, e.getWarningsCount(), e.getWarningsList().toString());
        Path f = dir.resolve("pre.gguf");
        Files.write(f, e.getData().toByteArray());
        try (GgufFile g = GgufFile.open(f)) {
            assertNotNull(g.tensor("direction.2"), "blocks.3.hook_resid_pre = blocks.2.hook_resid_post = direction.2");
        }
    }

    @Test
    void whatAControlVectorCannotHoldIsRefused() {
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> export(actAdd.getId(), VectorFileFormat.VECTOR_FILE_FORMAT_GGUF), "format", "rows");
        SteeringVector first = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("export-block0")
                .setRaw(RawVectorRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.0.hook_resid_post")).setVector(VectorTensor.of(caaMean)))
                .build()).getVector();
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> export(first.getId(), VectorFileFormat.VECTOR_FILE_FORMAT_GGUF), "format", "N >= 1");
        assertStatus(Status.Code.NOT_FOUND, () -> export("no-such-vector", VectorFileFormat.VECTOR_FILE_FORMAT_SAFETENSORS), "no-such-vector");
    }

    @Test
    void aRepengStyleMultiLayerFileImportsTheChosenLayer() throws Exception {
        GgufWriter w = new GgufWriter().put("general.architecture", "controlvector").put("controlvector.model_hint", "llama")
                .putUint32("controlvector.layer_count", 4);
        for (int n = 1; n <= 4; n++) {
            float[] d = new float[64];
            d[n] = n; // distinguishable per layer
            w.addTensor("direction." + n, new long[]{64}, d);
        }
        Path f = dir.resolve("multi.gguf");
        w.write(f);
        ByteString bytes = ByteString.copyFrom(Files.readAllBytes(f));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("multi", ImportFileRecipe.newBuilder().setData(bytes)), "file.gguf_layer", "[1, 2, 3, 4]");
        SteeringVector three = importFile("multi-3", ImportFileRecipe.newBuilder().setData(bytes).setGgufLayer(3));
        assertEquals("blocks.3.hook_resid_post", three.getHook().getName());
        assertEquals(3f, TensorCodec.toFloats(VectorTensor.of(three))[3]);
        assertEquals("llama", three.getMetadataOrThrow("model_hint"));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("multi-9", ImportFileRecipe.newBuilder().setData(bytes).setGgufLayer(9)), "file.gguf_layer");
        // another architecture's GGUF (a model file, say) is not a control vector
        GgufWriter model = new GgufWriter().put("general.architecture", "llama");
        model.addTensor("direction.1", new long[]{64}, new float[64]);
        Path m = dir.resolve("model.gguf");
        model.write(m);
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("not-cv", ImportFileRecipe.newBuilder().setData(ByteString.copyFrom(Files.readAllBytes(m)))),
                "file.data", "controlvector");
    }

    @Test
    void filesOfAnotherModelOrShapeOrNoFormatAreRefused() throws Exception {
        Path f = dir.resolve("other.safetensors");
        new SafetensorsWriter().add("vector", new long[]{64}, new float[64]).metadata("model_id", "some-other-model")
                .metadata("hook", "blocks.1.hook_resid_post").write(f);
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("other", ImportFileRecipe.newBuilder().setData(ByteString.copyFrom(Files.readAllBytes(f)))),
                "file.data", "some-other-model");
        Path wide = dir.resolve("wide.safetensors");
        new SafetensorsWriter().add("vector", new long[]{65}, new float[65]).metadata("hook", "blocks.1.hook_resid_post").write(wide);
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("wide", ImportFileRecipe.newBuilder().setData(ByteString.copyFrom(Files.readAllBytes(wide)))),
                "file.data", "d_model 64");
        Path nohook = dir.resolve("nohook.safetensors");
        float[] ones = new float[64];
        java.util.Arrays.fill(ones, 1);
        new SafetensorsWriter().add("vector", new long[]{64}, ones).write(nohook);
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("nohook", ImportFileRecipe.newBuilder().setData(ByteString.copyFrom(Files.readAllBytes(nohook)))),
                "file.hook.name");
        SteeringVector withHook = importFile("withhook", ImportFileRecipe.newBuilder().setData(ByteString.copyFrom(Files.readAllBytes(nohook)))
                .setHook(HookPoint.newBuilder().setName("blocks.1.hook_resid_mid")));
        assertEquals("blocks.1.hook_resid_mid", withHook.getHook().getName());
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("junk", ImportFileRecipe.newBuilder().setData(ByteString.copyFromUtf8("not a vector file"))),
                "file.format");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("empty", ImportFileRecipe.newBuilder()), "file.data");
        // a truncated file's error names the field, not a temporary path of the server
        byte[] gguf = Files.readAllBytes(m0());
        for (VectorFileFormat format : new VectorFileFormat[]{VectorFileFormat.VECTOR_FILE_FORMAT_GGUF, VectorFileFormat.VECTOR_FILE_FORMAT_SAFETENSORS}) {
            io.grpc.StatusRuntimeException e = assertStatus(Status.Code.INVALID_ARGUMENT, () -> importFile("cut", ImportFileRecipe.newBuilder()
                    .setData(ByteString.copyFrom(gguf, 0, 40)).setFormat(format)), "file.data");
            String d = e.getStatus().getDescription();
            assertFalse(d.contains("vector-file") || d.contains(System.getProperty("java.io.tmpdir")), d);
        }
    }

    /** Some GGUF file's bytes (a control vector with one direction). */
    private Path m0() throws Exception {
        GgufWriter cv = new GgufWriter().put("general.architecture", "controlvector");
        cv.addTensor("direction.1", new long[]{64}, new float[64]);
        Path p = dir.resolve("cut.gguf");
        cv.write(p);
        return p;
    }
}
