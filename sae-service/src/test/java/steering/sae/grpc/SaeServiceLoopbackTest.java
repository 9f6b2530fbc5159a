package steering.sae.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import steering.common.npz.NpyArray;
import steering.common.npz.NpzFile;
import steering.common.tensor.TensorCodec;
import steering.sae.core.SaeFiles;
import steering.sae.core.SaeLoaders;
import steering.v1.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.sae.core.SaeFixturesTest.assertClose;

/**
 * sae-service over real gRPC on loopback (with a real model-service behind it): imports the NumPy-checked fixture
 * SAEs in each public format and checks the RPCs' answers against NumPy's numbers, and that bad input is refused
 * with the right status naming the field.
 */
class SaeServiceLoopbackTest {
    @TempDir
    static Path dataDir;
    static LoopbackMesh mesh;

    static final String[][] FIXTURES = {
            {"topk", "saelens_topk"},
            {"rescale", "saelens_topk_rescale"},
            {"jumprelu-ln", "saelens_jumprelu_ln"},
            {"pre6", "saelens_standard_pre6"},
            {"batchtopk", "saelens_batchtopk"},
            {"gemma", "gemma_scope/layer_3/width_16/average_l0_4/params.npz"},
            {"sparsify", "sparsify/layers.2"},
    };

    @BeforeAll
    static void start() throws Exception {
        mesh = new LoopbackMesh(dataDir.resolve("saes"));
        for (String[] f : FIXTURES) {
            SaeInfo info = mesh.blocking().importSae(ImportSaeRequest.newBuilder().setSaeId(f[0]).setPath(fixture(f[1]).toString()).build());
            assertEquals(f[0], info.getId());
        }
    }

    @AfterAll
    static void stop() throws Exception {
        mesh.close();
    }

    static Path fixture(String name) throws Exception {
        return Path.of(SaeServiceLoopbackTest.class.getResource("/sae-fixtures/" + name).toURI());
    }

    static Map<String, NpyArray> expected(String fixtureDir) throws Exception {
        Path p = fixture(fixtureDir);
        if (p.toString().endsWith(".npz")) p = p.getParent();
        return NpzFile.readAll(p.resolve("expected.npz"));
    }

    static void assertStatus(Status.Code code, String fieldPrefix, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().getDescription());
        if (fieldPrefix != null) {
            assertTrue(e.getStatus().getDescription().startsWith(fieldPrefix), "'" + e.getStatus().getDescription() + "' names " + fieldPrefix);
        }
    }

    @Test
    void importedSaesAreListedWithTheirFormatAndKeptInSaeLensLayout() throws Exception {
        List<SaeInfo> all = mesh.blocking().listSaes(ListSaesRequest.getDefaultInstance()).getSaesList();
        assertEquals(FIXTURES.length, all.size());
        SaeInfo gemma = mesh.blocking().getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("gemma").build());
        assertEquals(SaeSourceFormat.SAE_SOURCE_FORMAT_GEMMA_SCOPE, gemma.getSourceFormat());
        assertEquals(SaeArchitecture.SAE_ARCHITECTURE_JUMPRELU, gemma.getArchitecture());
        assertEquals("blocks.3.hook_resid_post", gemma.getHook().getName());
        assertEquals(16, gemma.getDSae());
        assertFalse(gemma.getApplyBDecToInput());
        SaeInfo sp = mesh.blocking().getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("sparsify").build());
        assertEquals(SaeSourceFormat.SAE_SOURCE_FORMAT_SPARSIFY, sp.getSourceFormat());
        assertEquals(3, sp.getK());
        List<SaeInfo> byHook = mesh.blocking().listSaes(ListSaesRequest.newBuilder().setHook("blocks.1.hook_resid_post").build()).getSaesList();
        assertEquals(List.of("batchtopk", "topk"), byHook.stream().map(SaeInfo::getId).toList());
        // stored in SAELens layout with a sidecar, readable by the SAELens loader
        Path dir = dataDir.resolve("saes/gemma");
        assertTrue(Files.isRegularFile(dir.resolve("cfg.json")) && Files.isRegularFile(dir.resolve("sae_weights.safetensors"))
                && Files.isRegularFile(dir.resolve("metadata.json")));
        SaeFiles back = SaeLoaders.loadSaeLens(dir);
        assertEquals(16, back.config().dSae());
    }

    @Test
    void encodeDecodeAndReconstructMatchNumpyForEveryFormat() throws Exception {
        for (String[] f : FIXTURES) {
            Map<String, NpyArray> exp = expected(f[1]);
            NpyArray x = exp.get("x");
            int rows = (int) x.shape()[0];
            int dSae = (int) exp.get("features").shape()[1];
            Tensor input = TensorCodec.ofFloats(x.data(), rows, 6);
            EncodeResponse dense = mesh.blocking().encode(EncodeRequest.newBuilder().setSaeId(f[0])
                    .setInput(SaeInput.newBuilder().setActivations(input)).build());
            assertEquals(List.of((long) rows, (long) dSae), dense.getFeatures().getShapeList());
            assertClose(exp.get("features").data(), TensorCodec.toFloats(dense.getFeatures()), f[0] + " encode");

            // sparse top-2 = the two largest of each row
            EncodeResponse sparse = mesh.blocking().encode(EncodeRequest.newBuilder().setSaeId(f[0]).setTopK(2)
                    .setInput(SaeInput.newBuilder().setActivations(input)).build());
            SparseFeatures s = sparse.getSparse();
            assertEquals(rows + 1, s.getOffsetsCount());
            float[] feats = exp.get("features").data();
            for (int r = 0; r < rows; r++) {
                float[] row = java.util.Arrays.copyOfRange(feats, r * dSae, (r + 1) * dSae);
                float[] sorted = row.clone();
                java.util.Arrays.sort(sorted);
                for (int i = s.getOffsets(r); i < s.getOffsets(r + 1); i++) {
                    int rank = i - s.getOffsets(r);
                    assertEquals(sorted[dSae - 1 - rank], s.getValues(i), 1e-4f * Math.max(1, Math.abs(s.getValues(i))));
                    assertEquals(row[s.getIndices(i)], s.getValues(i), 1e-4f * Math.max(1, Math.abs(s.getValues(i))));
                }
            }

            // the mean over the rows
            EncodeResponse mean = mesh.blocking().encode(EncodeRequest.newBuilder().setSaeId(f[0])
                    .setReduction(FeatureReduction.FEATURE_REDUCTION_MEAN).setInput(SaeInput.newBuilder().setActivations(input)).build());
            float[] m = TensorCodec.toFloats(mean.getFeatures());
            for (int j = 0; j < dSae; j++) {
                double acc = 0;
                for (int r = 0; r < rows; r++) acc += feats[r * dSae + j];
                assertEquals(acc / rows, m[j], 1e-4 * Math.max(1, Math.abs(acc / rows)), f[0] + " mean feature " + j);
            }

            ReconstructResponse rec = mesh.blocking().reconstruct(ReconstructRequest.newBuilder().setSaeId(f[0])
                    .setInput(SaeInput.newBuilder().setActivations(input)).setReturnReconstruction(true).build());
            assertClose(exp.get("reconstruction").data(), TensorCodec.toFloats(rec.getReconstruction()), f[0] + " reconstruct");
            assertEquals(rows, rec.getRows());
            // figures recomputed here from NumPy's reconstruction
            float[] xr = exp.get("reconstruction").data();
            double[] colMean = new double[6];
            for (int r = 0; r < rows; r++) for (int i = 0; i < 6; i++) colMean[i] += x.data()[r * 6 + i] / rows;
            double err = 0, var = 0;
            for (int k = 0; k < rows * 6; k++) {
                err += Math.pow(x.data()[k] - xr[k], 2);
                var += Math.pow(x.data()[k] - colMean[k % 6], 2);
            }
            assertEquals(1 - err / var, rec.getVarianceExplained(), 1e-4 * Math.max(1, Math.abs(1 - err / var)), f[0] + " variance explained");
            assertEquals(err / rows, rec.getMse(), 1e-3 * Math.max(1, err / rows));

            if (!f[0].equals("jumprelu-ln") && !f[0].equals("pre6")) {
                // decode(dense features) = NumPy's reconstruction (no per-row normalisation to undo)
                DecodeResponse dec = mesh.blocking().decode(DecodeRequest.newBuilder().setSaeId(f[0])
                        .setDense(TensorCodec.ofFloats(feats, rows, dSae)).build());
                assertClose(xr, TensorCodec.toFloats(dec.getReconstruction()), f[0] + " decode");
            }
        }
    }

    @Test
    void sparseDecodeEqualsDenseDecodeAndDirectionsAreDecoderRows() throws Exception {
        SaeFiles files = SaeLoaders.load(fixture("saelens_topk"), null);
        float[] wDec = files.weights().wDec();
        float[] bDec = files.weights().bDec();
        SparseFeatures s = SparseFeatures.newBuilder().addOffsets(0).addOffsets(2).addOffsets(2).addOffsets(3)
                .addIndices(4).addValues(1.5f).addIndices(7).addValues(-0.5f).addIndices(4).addValues(2f).build();
        float[] y = TensorCodec.toFloats(mesh.blocking().decode(DecodeRequest.newBuilder().setSaeId("topk").setSparse(s).build()).getReconstruction());
        assertEquals(3 * 6, y.length);
        for (int i = 0; i < 6; i++) {
            assertEquals(bDec[i] + 1.5f * wDec[4 * 6 + i] - 0.5f * wDec[7 * 6 + i], y[i], 1e-5);
            assertEquals(bDec[i], y[6 + i], 1e-6, "an empty row decodes to b_dec");
            assertEquals(bDec[i] + 2f * wDec[4 * 6 + i], y[12 + i], 1e-5);
        }
        FeatureDirectionsResponse dirs = mesh.blocking().featureDirections(FeatureDirectionsRequest.newBuilder().setSaeId("topk")
                .addFeatures(7).addFeatures(0).setNormalize(true).build());
        float[] d = TensorCodec.toFloats(dirs.getDirections());
        for (int r = 0; r < 2; r++) {
            int f = r == 0 ? 7 : 0;
            double norm = 0;
            for (int i = 0; i < 6; i++) norm += wDec[f * 6 + i] * wDec[f * 6 + i];
            norm = Math.sqrt(norm);
            assertEquals(norm, dirs.getNorms(r), 1e-5);
            for (int i = 0; i < 6; i++) assertEquals(wDec[f * 6 + i] / norm, d[r * 6 + i], 1e-6);
        }
        FeatureDirectionsResponse all = mesh.blocking().featureDirections(FeatureDirectionsRequest.newBuilder().setSaeId("topk").build());
        assertEquals(List.of(10L, 6L), all.getDirections().getShapeList());
        assertArrayEquals(wDec, TensorCodec.toFloats(all.getDirections()));
    }

    @Test
    void encodeStreamAnswersEachMessageInOrder() throws Exception {
        Map<String, NpyArray> exp = expected("saelens_topk");
        float[] x = exp.get("x").data();
        List<EncodeResponse> got = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        Throwable[] error = {null};
        StreamObserver<EncodeRequest> in = mesh.async().encodeStream(new StreamObserver<>() {
            public void onNext(EncodeResponse r) { got.add(r); }
            public void onError(Throwable t) { error[0] = t; done.countDown(); }
            public void onCompleted() { done.countDown(); }
        });
        for (int r = 0; r < 5; r++) {
            in.onNext(EncodeRequest.newBuilder().setSaeId("topk").setInput(SaeInput.newBuilder()
                    .setActivations(TensorCodec.ofFloats(java.util.Arrays.copyOfRange(x, r * 6, r * 6 + 6), 6))).build());
        }
        in.onCompleted();
        assertTrue(done.await(30, TimeUnit.SECONDS));
        assertNull(error[0]);
        assertEquals(5, got.size());
        float[] f = exp.get("features").data();
        for (int r = 0; r < 5; r++) {
            assertClose(java.util.Arrays.copyOfRange(f, r * 10, r * 10 + 10), TensorCodec.toFloats(got.get(r).getFeatures()), "stream row " + r);
        }
    }

    @Test
    void badInputIsRefusedWithTheFieldAndTheRange() {
        var sae = mesh.blocking();
        Tensor wrongWidth = TensorCodec.ofFloats(new float[14], 2, 7);
        assertStatus(Status.Code.INVALID_ARGUMENT, "input.activations", () -> sae.encode(EncodeRequest.newBuilder().setSaeId("topk")
                .setInput(SaeInput.newBuilder().setActivations(wrongWidth)).build()));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> sae.encode(EncodeRequest.newBuilder().setSaeId("topk")
                .setInput(SaeInput.newBuilder().setActivations(wrongWidth)).build()));
        assertTrue(e.getStatus().getDescription().contains("[n, 6]"), e.getStatus().getDescription());
        float[] nan = new float[6];
        nan[2] = Float.NaN;
        assertStatus(Status.Code.INVALID_ARGUMENT, "input.activations", () -> sae.encode(EncodeRequest.newBuilder().setSaeId("topk")
                .setInput(SaeInput.newBuilder().setActivations(TensorCodec.ofFloats(nan, 6))).build()));
        Tensor bytesShort = Tensor.newBuilder().addShape(6).setDtype(DType.FLOAT32).setData(com.google.protobuf.ByteString.copyFrom(new byte[20])).build();
        assertStatus(Status.Code.INVALID_ARGUMENT, "input.activations", () -> sae.encode(EncodeRequest.newBuilder().setSaeId("topk")
                .setInput(SaeInput.newBuilder().setActivations(bytesShort)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "input", () -> sae.encode(EncodeRequest.newBuilder().setSaeId("topk").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "top_k", () -> sae.encode(EncodeRequest.newBuilder().setSaeId("topk").setTopK(11)
                .setInput(SaeInput.newBuilder().setActivations(TensorCodec.ofFloats(new float[6], 6))).build()));
        assertStatus(Status.Code.NOT_FOUND, null, () -> sae.encode(EncodeRequest.newBuilder().setSaeId("no-such-sae")
                .setInput(SaeInput.newBuilder().setActivations(TensorCodec.ofFloats(new float[6], 6))).build()));
        assertStatus(Status.Code.NOT_FOUND, null, () -> sae.getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("no-such-sae").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "sae_id", () -> sae.getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("../etc").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "sae_id", () -> sae.getSaeInfo(GetSaeInfoRequest.getDefaultInstance()));
        // decode
        assertStatus(Status.Code.INVALID_ARGUMENT, "dense", () -> sae.decode(DecodeRequest.newBuilder().setSaeId("topk")
                .setDense(TensorCodec.ofFloats(new float[9], 9)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "sparse.indices[0]", () -> sae.decode(DecodeRequest.newBuilder().setSaeId("topk")
                .setSparse(SparseFeatures.newBuilder().addOffsets(0).addOffsets(1).addIndices(10).addValues(1f)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "sparse.offsets", () -> sae.decode(DecodeRequest.newBuilder().setSaeId("topk")
                .setSparse(SparseFeatures.newBuilder().addOffsets(0).addOffsets(3).addIndices(1).addValues(1f)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "sparse.values", () -> sae.decode(DecodeRequest.newBuilder().setSaeId("topk")
                .setSparse(SparseFeatures.newBuilder().addOffsets(0).addOffsets(1).addIndices(1)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "sparse.values[0]", () -> sae.decode(DecodeRequest.newBuilder().setSaeId("topk")
                .setSparse(SparseFeatures.newBuilder().addOffsets(0).addOffsets(1).addIndices(1).addValues(Float.POSITIVE_INFINITY)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "features", () -> sae.decode(DecodeRequest.newBuilder().setSaeId("topk").build()));
        // directions
        assertStatus(Status.Code.INVALID_ARGUMENT, "features[1]", () -> sae.featureDirections(FeatureDirectionsRequest.newBuilder()
                .setSaeId("topk").addFeatures(3).addFeatures(-1).build()));
        // imports
        assertStatus(Status.Code.INVALID_ARGUMENT, "path", () -> sae.importSae(ImportSaeRequest.newBuilder().setSaeId("x")
                .setPath(dataDir.resolve("nothing-here").toString()).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "path", () -> sae.importSae(ImportSaeRequest.newBuilder().setSaeId("x").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "hook.name", () -> sae.importSae(ImportSaeRequest.newBuilder().setSaeId("x")
                .setPath(fixture("saelens_topk").toString()).setHook(HookPoint.newBuilder().setName("blocks.1.attn")).build()));
        assertStatus(Status.Code.ALREADY_EXISTS, "sae_id", () -> sae.importSae(ImportSaeRequest.newBuilder().setSaeId("topk")
                .setPath(fixture("saelens_topk").toString()).build()));
        // an SAE for another model cannot read texts through this model-service (d_in 6 vs d_model 64)
        assertStatus(Status.Code.FAILED_PRECONDITION, "input.texts", () -> sae.encode(EncodeRequest.newBuilder().setSaeId("topk")
                .setInput(SaeInput.newBuilder().setTexts(TextInputs.newBuilder().addPrompts(Prompt.newBuilder().setText("Once")))).build()));
        // no statistics yet
        assertStatus(Status.Code.FAILED_PRECONDITION, "sae_id", () -> sae.featureStats(FeatureStatsRequest.newBuilder().setSaeId("topk").build()));
        // operations
        assertStatus(Status.Code.NOT_FOUND, null, () -> sae.getOperation(GetOperationRequest.newBuilder().setId("nope").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "id", () -> sae.cancelOperation(CancelOperationRequest.getDefaultInstance()));
        // the service still answers after all of that
        assertEquals(FIXTURES.length, sae.listSaes(ListSaesRequest.getDefaultInstance()).getSaesCount());
    }

    @Test
    void importOverwriteAndDelete() throws Exception {
        var sae = mesh.blocking();
        SaeInfo info = sae.importSae(ImportSaeRequest.newBuilder().setSaeId("temp").setPath(fixture("sparsify/layers.2").toString())
                .setModelId("stories260K").setHook(HookPoint.newBuilder().setName("blocks.0.hook_resid_mid")).build());
        assertEquals("blocks.0.hook_resid_mid", info.getHook().getName());
        assertEquals("stories260K", info.getModelId());
        SaeInfo replaced = sae.importSae(ImportSaeRequest.newBuilder().setSaeId("temp").setOverwrite(true)
                .setPath(fixture("saelens_topk").toString()).build());
        assertEquals(10, replaced.getDSae());
        assertEquals(10, sae.encode(EncodeRequest.newBuilder().setSaeId("temp")
                .setInput(SaeInput.newBuilder().setActivations(TensorCodec.ofFloats(new float[6], 6))).build()).getFeatures().getShape(1));
        sae.deleteSae(DeleteSaeRequest.newBuilder().setSaeId("temp").build());
        assertStatus(Status.Code.NOT_FOUND, null, () -> sae.getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("temp").build()));
        assertStatus(Status.Code.NOT_FOUND, null, () -> sae.deleteSae(DeleteSaeRequest.newBuilder().setSaeId("temp").build()));
        try (var s = Files.list(dataDir.resolve("saes"))) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary directories are left");
        }
    }
}
