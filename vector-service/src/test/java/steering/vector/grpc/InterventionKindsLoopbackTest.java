package steering.vector.grpc;

import steering.common.steer.VectorTensor;
import io.grpc.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static steering.vector.grpc.Effects.assertStatus;

/**
 * Vectors stored with a kind (issue 13): SAE_FEATURE named by SAE and feature and resolved through sae-service,
 * CLAMP / ABLATE defaults and their strength, GGUF export refusing what llama.cpp cannot add. Real services on
 * loopback with the TopK SAE the mesh trains on stories260K.
 */
class InterventionKindsLoopbackTest {
    static TestMesh mesh;
    static final String TEXT = "The dog barked at the ball and the little girl laughed.";

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
        mesh.sae();
    }

    static float[] capture(Intervention... ivs) {
        return TensorCodec.toFloats(mesh.models().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(Prompt.newBuilder().setText(TEXT)).addHooks(HookPoint.newBuilder().setName(TestMesh.SAE_HOOK))
                .addAllInterventions(List.of(ivs)).build()).next().getActivations());
    }

    static float[] encode(float[] rows, int n) {
        return TensorCodec.toFloats(mesh.saes().encode(EncodeRequest.newBuilder().setSaeId(TestMesh.SAE_ID)
                .setInput(SaeInput.newBuilder().setActivations(TensorCodec.ofFloats(rows, n, 64))).build()).getFeatures());
    }

    static BuildVectorRequest.Builder oneFeature(int feature) {
        return BuildVectorRequest.newBuilder().setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID)
                .addFeatures(WeightedFeature.newBuilder().setFeature(feature).setWeight(1)));
    }

    @Test
    void saeFeatureMovesTheEncodedFeatureToTheValueByItsFormula() {
        float[] h = capture();
        int n = h.length / 64, d = 64, m = 256;
        float[] f = encode(h, n);
        // the feature most active on the text, at the position where it is strongest
        int feature = 0, at = 0;
        for (int t = 0; t < n; t++) for (int j = 0; j < m; j++) if (f[t * m + j] > f[at * m + feature]) { feature = j; at = t; }
        double c = 3 * f[at * m + feature];
        SteeringVector stored = mesh.vectors().buildVector(oneFeature(feature).setVectorId("clamp-feature")
                .setKind(InterventionKind.SAE_FEATURE).setValue(c).setOverwrite(true).build()).getVector();
        assertEquals(InterventionKind.SAE_FEATURE, stored.getKind());
        Intervention iv = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("clamp-feature").build()).getIntervention();
        assertEquals(InterventionKind.SAE_FEATURE, iv.getKind());
        assertEquals(TestMesh.SAE_HOOK, iv.getHook().getName());
        assertEquals(c, iv.getValue(), 1e-9);
        assertFalse(iv.hasVector(), "the feature's tensors travel in sae_feature");
        SaeFeature sf = iv.getSaeFeature();
        assertEquals(feature, sf.getFeature());
        float[] e = TensorCodec.toFloats(sf.getEncoder()), dec = TensorCodec.toFloats(sf.getDecoder());
        float[] b = sf.hasInputBias() ? TensorCodec.toFloats(sf.getInputBias()) : new float[d];
        assertArrayEquals(TensorCodec.toFloats(mesh.saes().featureDirections(FeatureDirectionsRequest.newBuilder()
                .setSaeId(TestMesh.SAE_ID).addFeatures(feature).build()).getDirections()), dec, 1e-7f, "the raw decoder row");

        float[] steered = capture(iv);
        float[] g = encode(steered, n);
        double ed = 0;
        for (int i = 0; i < d; i++) ed += (double) e[i] * dec[i];
        for (int t = 0; t < n; t++) {
            double before = act(e, b, sf, h, t);
            if (f[t * m + feature] != 0) {
                assertEquals(f[t * m + feature], before, 1e-4 * (1 + before), "the feature alone encodes as the SAE does where it fires");
            }
            for (int i = 0; i < d; i++) {
                double expected = h[t * d + i] + (c - before) * dec[i];
                assertEquals(expected, steered[t * d + i], 1e-5 * (1 + Math.abs(expected)), "h + (c - f) d at " + t + ", dim " + i);
            }
            // re-encoded: pre moves by (c - f) e.d, so the feature lands at c where e.d = 1
            double after = act(e, b, sf, steered, t);
            if (g[t * m + feature] != 0) assertEquals(g[t * m + feature], after, 1e-4 * (1 + after), "sae-service encodes the steered feature at " + t);
            assertTrue(Math.abs(after - c) <= Math.abs(before - c), "position " + t + ": " + before + " -> " + after + ", c = " + c);
            if (t == at) {
                assertTrue(g[t * m + feature] > 0, "the clamped feature is among the top k at " + t);
                System.out.printf("SAE_FEATURE feature %d at position %d: %.4f -> %.4f (c = %.4f, e.d = %.4f)%n", feature, t, before, after, c, ed);
            }
        }
        assertEquals(1.0, ed, 0.35, "e.d of a trained feature is near 1, so the feature is moved near c");
    }

    private static double act(float[] e, float[] b, SaeFeature sf, float[] h, int t) {
        double pre = sf.getEncoderBias();
        for (int i = 0; i < e.length; i++) pre += (double) e[i] * (h[t * e.length + i] - b[i]);
        return pre > 0 && (!sf.hasThreshold() || pre > sf.getThreshold()) ? pre : 0;
    }

    /** StartBuildVector's result is BuildVector's answer (issue 15), for ADD, ABLATE, the value kinds and SAE_FEATURE. */
    @Test
    void startBuildVectorAnswersAsBuildVectorForEveryKind() {
        float[] direction = new float[64];
        for (int i = 0; i < 64; i++) direction[i] = (i % 7) - 3;
        BuildVectorRequest.Builder raw = BuildVectorRequest.newBuilder().setSave(false).setRaw(RawVectorRecipe.newBuilder()
                .setHook(HookPoint.newBuilder().setName(TestMesh.SAE_HOOK)).setVector(TensorCodec.ofFloats(direction, 64)));
        List<BuildVectorRequest> families = List.of(
                raw.clone().setVectorId("op-add").build(),
                raw.clone().setVectorId("op-ablate").setKind(InterventionKind.ABLATE).build(),
                raw.clone().setVectorId("op-clamp").setKind(InterventionKind.CLAMP).setValue(2).setPositions(PositionPolicy.GENERATED_ONLY).build(),
                raw.clone().setVectorId("op-cap").setKind(InterventionKind.CAP_AT_MOST).setValue(1).build(),
                oneFeature(3).setVectorId("op-feature").setSave(false).setKind(InterventionKind.SAE_FEATURE).setValue(5).build());
        // a kind's missing value is refused at Start, as BuildVector refuses it, not after the build
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startBuildVector(raw.clone().setKind(InterventionKind.CLAMP).build()),
                "value", "CLAMP needs the target value");
        // every family checked, so that a failure names each kind that differs
        assertAll(families.stream().map(r -> () -> {
            SteeringVector unary = mesh.vectors().buildVector(r).getVector();
            Operation done = TestMesh.await(mesh.vectors().watchOperation(WatchOperationRequest.newBuilder()
                    .setId(mesh.vectors().startBuildVector(r).getId()).build()));
            assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), r.getVectorId() + ": " + done.getError().getMessage());
            SteeringVector operation = done.getResult().unpack(BuildVectorResponse.class).getVector();
            assertEquals(r.getKind(), operation.getKind(), r.getVectorId());
            assertEquals(r.getKind(), operation.getIntervention().getKind(), r.getVectorId());
            assertEquals(unary.toBuilder().clearCreatedAt().build(), operation.toBuilder().clearCreatedAt().build(),
                    r.getVectorId() + ": the operation's answer is BuildVector's");
        }));
    }

    @Test
    void storedKindsKeepTheirValueAndPositionsAndStrengthScalesTheValue() {
        BuildVectorRequest.Builder caa = BuildVectorRequest.newBuilder().setVectorId("dog-clamp").setOverwrite(true)
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                        .addPositive("The dog barked.").addNegative("The girl sang."));
        SteeringVector v = mesh.vectors().buildVector(caa.clone().setKind(InterventionKind.CLAMP).setValue(3)
                .setPositions(PositionPolicy.GENERATED_ONLY).build()).getVector();
        assertEquals(InterventionKind.CLAMP, v.getKind());
        assertEquals(PositionPolicy.GENERATED_ONLY, v.getPositions());
        Intervention iv = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("dog-clamp").setStrength(2).build()).getIntervention();
        assertEquals(InterventionKind.CLAMP, iv.getKind());
        assertEquals(6, iv.getValue(), 1e-12, "strength multiplies the value");
        assertFalse(iv.hasScale());
        assertEquals(PositionPolicy.GENERATED_ONLY, iv.getPositions());
        assertEquals(VectorTensor.of(v), iv.getVector());
        // the registry listing keeps the kind; model-service takes the intervention as it is
        assertTrue(mesh.vectors().listVectors(ListVectorsRequest.getDefaultInstance()).getVectorsList().stream()
                .anyMatch(x -> x.getId().equals("dog-clamp") && x.getKind() == InterventionKind.CLAMP && x.getValue() == 3));
        mesh.models().generate(GenerateRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("Once"))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(2)).addInterventions(iv).build()).forEachRemaining(r -> {});

        mesh.vectors().buildVector(caa.clone().setVectorId("dog-ablate").setKind(InterventionKind.ABLATE).build());
        Intervention ablate = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("dog-ablate").build()).getIntervention();
        assertEquals(InterventionKind.ABLATE, ablate.getKind());
        assertFalse(ablate.hasScale() || ablate.hasValue());
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("dog-ablate")
                .setStrength(0.5).build()), "strength", "ABLATE");
        // only ADD vectors become llama.cpp control vectors; safetensors keeps any
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().exportVector(ExportVectorRequest.newBuilder().setId("dog-clamp")
                .setFormat(VectorFileFormat.VECTOR_FILE_FORMAT_GGUF).build()), "format", "CLAMP", "only ADD");
        var file = mesh.vectors().exportVector(ExportVectorRequest.newBuilder().setId("dog-clamp").build()).getData();
        SteeringVector back = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setFile(ImportFileRecipe.newBuilder().setData(file)).build()).getVector();
        assertEquals(InterventionKind.CLAMP, back.getKind(), "a safetensors file keeps the kind");
        assertEquals(3, back.getValue(), 1e-12);
        assertEquals(iv.toBuilder().setValue(3).build(), back.getIntervention());
    }

    @Test
    void badKindsValuesAndFeaturesNameTheField() {
        BuildVectorRequest.Builder caa = BuildVectorRequest.newBuilder().setSave(false)
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                        .addPositive("The dog barked.").addNegative("The girl sang."));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(caa.clone().setKind(InterventionKind.CLAMP).build()), "value");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(caa.clone().setKind(InterventionKind.CLAMP)
                .setValue(Double.NaN).build()), "value");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(caa.clone().setValue(2).build()), "value", "ADD");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(caa.clone().setKind(InterventionKind.SAE_FEATURE)
                .setValue(1).build()), "kind", "sae_decoder");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(caa.clone()
                .setPositions(PositionPolicy.PROMPT_FRONT).build()), "positions");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(oneFeature(256).setSave(false)
                .setKind(InterventionKind.SAE_FEATURE).setValue(1).build()), "sae_decoder.features[0].feature", "[0, 255]");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setActadd(ActAddRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_pre"))
                        .setPositive("Love").setNegative("Hate")).setKind(InterventionKind.ABLATE).build()), "kind", "rows");
    }
}
