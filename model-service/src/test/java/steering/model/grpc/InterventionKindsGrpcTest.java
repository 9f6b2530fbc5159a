package steering.model.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.tensor.TensorCodec;
import steering.model.TestModels;
import steering.v1.CaptureActivationsRequest;
import steering.v1.Condition;
import steering.v1.GenerateResponse;
import steering.v1.GenerateRequest;
import steering.v1.HookPoint;
import steering.v1.Intervention;
import steering.v1.InterventionKind;
import steering.v1.PositionPolicy;
import steering.v1.SaeFeature;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static steering.model.grpc.Wire.*;

/** ABLATE, CLAMP, CAP, SAE_FEATURE and the prompt/generated position policies through model-service's gRPC contract. */
class InterventionKindsGrpcTest {
    static final String HOOK = "blocks.2.hook_resid_post";
    static LoopbackModelService svc;
    static float[] direction;

    @BeforeAll
    static void start() throws Exception {
        svc = new LoopbackModelService(TestModels.stories260k(), 4, 512);
        Random rnd = new Random(3);
        direction = new float[64];
        for (int i = 0; i < direction.length; i++) direction[i] = (float) rnd.nextGaussian() * 3;
    }

    @AfterAll
    static void stop() throws Exception {
        svc.close();
    }

    static Intervention.Builder kind(InterventionKind kind, PositionPolicy policy) {
        return Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(HOOK))
                .setVector(TensorCodec.ofFloats(direction, direction.length)).setKind(kind).setPositions(policy);
    }

    static float[] capture(String text, Intervention... ivs) {
        return TensorCodec.toFloats(svc.blocking().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(text(text)).addHooks(HookPoint.newBuilder().setName(HOOK))
                .addAllInterventions(List.of(ivs)).build()).next().getActivations());
    }

    static double projection(float[] rows, int t) {
        double norm = 0;
        double dot = 0;
        for (int j = 0; j < 64; j++) {
            norm += (double) direction[j] * direction[j];
            dot += (double) rows[t * 64 + j] * direction[j];
        }
        return dot / Math.sqrt(norm);
    }

    @Test
    void clampAndAblateSetTheProjectionAtTheHook() {
        String text = "Once upon a time there was a cat";
        float[] clamped = capture(text, kind(InterventionKind.CLAMP, PositionPolicy.ALL).setValue(2.5).build());
        float[] ablated = capture(text, kind(InterventionKind.ABLATE, PositionPolicy.ALL).build());
        float[] capped = capture(text, kind(InterventionKind.CAP_AT_MOST, PositionPolicy.ALL).setValue(-1).build());
        for (int t = 0; t < clamped.length / 64; t++) {
            assertEquals(2.5, projection(clamped, t), 1e-4);
            assertEquals(0, projection(ablated, t), 1e-4);
            assertTrue(projection(capped, t) <= -1 + 1e-4);
        }
    }

    @Test
    void promptOnlyAndGeneratedOnlySplitAtThePromptsEnd() {
        String text = "Lily and Tom went to the park";
        float[] plain = capture(text);
        // a capture has no generated positions: GENERATED_ONLY changes nothing, PROMPT_ONLY every position
        assertArrayEquals(plain, capture(text, kind(InterventionKind.ABLATE, PositionPolicy.GENERATED_ONLY).build()));
        float[] prompt = capture(text, kind(InterventionKind.ABLATE, PositionPolicy.PROMPT_ONLY).build());
        for (int t = 0; t < prompt.length / 64; t++) assertEquals(0, projection(prompt, t), 1e-4);
        // in a generation, GENERATED_ONLY steers the continuation and leaves the prompt's own first token alone
        GenerateRequest.Builder g = GenerateRequest.newBuilder().setPrompt(text(text))
                .setSampling(greedy(20).toBuilder().setIgnoreEos(true));
        List<Integer> unsteered = collect(svc.blocking().generate(g.build())).tokens();
        Intervention late = kind(InterventionKind.CLAMP, PositionPolicy.GENERATED_ONLY).setValue(40).build();
        List<Integer> steered = collect(svc.blocking().generate(g.clone().addInterventions(late).build())).tokens();
        assertEquals(unsteered.get(0), steered.get(0), "the first token comes from the prompt, which GENERATED_ONLY leaves alone");
        assertNotEquals(unsteered, steered);
        Intervention early = kind(InterventionKind.CLAMP, PositionPolicy.PROMPT_ONLY).setValue(40).build();
        List<Integer> promptSteered = collect(svc.blocking().generate(g.clone().addInterventions(early).build())).tokens();
        assertNotEquals(unsteered, promptSteered);
    }

    @Test
    void aConditionIsDecidedOnThePromptAndReportedWithTheFirstMessage() {
        Condition.Builder condition = Condition.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.1.hook_resid_post"))
                .setDirection(TensorCodec.ofFloats(direction, direction.length));
        Intervention clamp = kind(InterventionKind.CLAMP, PositionPolicy.ALL).setValue(40).build();
        GenerateRequest.Builder g = GenerateRequest.newBuilder().setPrompt(text("Lily and Tom went to the park"))
                .setSampling(greedy(12).toBuilder().setIgnoreEos(true));
        List<Integer> plain = collect(svc.blocking().generate(g.build())).tokens();
        for (double threshold : new double[]{-1, 1}) {
            Intervention conditional = clamp.toBuilder().setCondition(condition.setThreshold(threshold)).build();
            GenerateResponse first = svc.blocking().generate(g.clone().addInterventions(conditional).build()).next();
            assertEquals(1, first.getConditionsCount());
            assertEquals(0, first.getConditions(0).getIntervention());
            assertTrue(Math.abs(first.getConditions(0).getCosine()) <= 1);
            assertEquals(threshold < 0, first.getConditions(0).getMet());
            List<Integer> tokens = collect(svc.blocking().generate(g.clone().addInterventions(conditional).build())).tokens();
            if (threshold < 0) assertNotEquals(plain, tokens, "met: the new tokens are steered");
            else assertEquals(plain, tokens, "not met: nothing changes");
        }
        // bad conditions, and conditions outside Generate
        assertInvalid(clamp.toBuilder().setCondition(condition.clone().setThreshold(2)).build(), "interventions[0].condition.threshold");
        assertInvalid(clamp.toBuilder().setCondition(condition.clone().setThreshold(0)
                .setDirection(TensorCodec.ofFloats(new float[64], 64))).build(), "interventions[0].condition.direction");
        assertInvalid(clamp.toBuilder().setCondition(condition.clone().setThreshold(0).setComparisonValue(7)).build(),
                "interventions[0].condition.comparison");
        var e = assertThrows(StatusRuntimeException.class, () -> svc.blocking().captureActivations(CaptureActivationsRequest.newBuilder()
                .addInputs(text("Once")).addHooks(HookPoint.newBuilder().setName(HOOK))
                .addInterventions(clamp.toBuilder().setCondition(condition.clone().setThreshold(0))).build()).next());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("interventions[0].condition"), e.getStatus().getDescription());
    }

    @Test
    void badKindsValuesAndDirectionsAreInvalidArgumentsNamingTheField() {
        assertInvalid(kind(InterventionKind.CLAMP, PositionPolicy.ALL).setValue(1).setScale(2).build(), "interventions[0].scale");
        assertInvalid(kind(InterventionKind.CAP_AT_LEAST, PositionPolicy.ALL).build(), "interventions[0].value");
        assertInvalid(kind(InterventionKind.CLAMP, PositionPolicy.ALL).setValue(Double.NaN).build(), "interventions[0].value");
        assertInvalid(kind(InterventionKind.CLAMP, PositionPolicy.ALL).setValue(1)
                .setVector(TensorCodec.ofFloats(new float[64], 64)).build(), "interventions[0].vector");
        assertInvalid(kind(InterventionKind.CLAMP, PositionPolicy.PROMPT_FRONT).setValue(1).build(), "interventions[0].positions");
        assertInvalid(kind(InterventionKind.ABLATE, PositionPolicy.ALL).setKindValue(99).build(), "interventions[0].kind");
        float[] twice = new float[128];
        System.arraycopy(direction, 0, twice, 0, 64);
        System.arraycopy(direction, 0, twice, 64, 64);
        assertInvalid(kind(InterventionKind.ABLATE, PositionPolicy.ALL).setVector(TensorCodec.ofFloats(twice, 2, 64)).build(),
                "interventions[0].vector");
        assertInvalid(kind(InterventionKind.CLAMP, PositionPolicy.ALL).setValue(1).setVector(TensorCodec.ofFloats(twice, 2, 64)).build(),
                "interventions[0].vector");
    }

    static Intervention.Builder saeFeature(float[] encoder, float[] decoder, double value) {
        return Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(HOOK)).setKind(InterventionKind.SAE_FEATURE)
                .setValue(value).setSaeFeature(SaeFeature.newBuilder().setSaeId("tiny").setFeature(3)
                        .setEncoder(TensorCodec.ofFloats(encoder, encoder.length)).setEncoderBias(0.2)
                        .setDecoder(TensorCodec.ofFloats(decoder, decoder.length)).setThreshold(0.1));
    }

    @Test
    void saeFeatureOnTheWireIsTheRuntimeFormulaAndBadFeaturesAreNamed() {
        String text = "Once upon a time there was a cat";
        float[] plain = capture(text);
        float[] e = new float[64], d = new float[64];
        double norm = 0;
        for (int j = 0; j < 64; j++) norm += (double) plain[64 + j] * plain[64 + j];
        for (int j = 0; j < 64; j++) {
            e[j] = (float) (plain[64 + j] / norm);     // e.h = 1 at position 1
            d[j] = direction[j] / 10;
        }
        float[] steered = capture(text, saeFeature(e, d, 5).build());
        for (int t = 0; t < plain.length / 64; t++) {
            double pre = 0.2;
            for (int j = 0; j < 64; j++) pre += (double) e[j] * plain[t * 64 + j];
            double f = pre > 0.1 ? pre : 0;
            for (int j = 0; j < 64; j++) {
                double expected = plain[t * 64 + j] + (5 - f) * d[j];
                assertEquals(expected, steered[t * 64 + j], 1e-5 * (1 + Math.abs(expected)), "position " + t + " dim " + j);
            }
        }
        assertInvalid(saeFeature(e, d, Double.POSITIVE_INFINITY).build(), "interventions[0].value");
        assertInvalid(saeFeature(e, d, 1).clearValue().build(), "interventions[0].value");
        assertInvalid(saeFeature(e, d, 1).setScale(2).build(), "interventions[0].scale");
        assertInvalid(saeFeature(e, d, 1).setVector(TensorCodec.ofFloats(d, 64)).build(), "interventions[0].vector");
        assertInvalid(saeFeature(e, d, 1).setPositions(PositionPolicy.PROMPT_FRONT).build(), "interventions[0].positions");
        Intervention named = saeFeature(e, d, 1).setSaeFeature(SaeFeature.newBuilder().setSaeId("tiny").setFeature(3)).build();
        assertInvalid(named, "interventions[0].sae_feature.encoder");
        assertInvalid(saeFeature(new float[64], d, 1).build(), "interventions[0].sae_feature");
        assertInvalid(saeFeature(e, new float[63], 1).build(), "interventions[0].sae_feature.decoder");
        float[] nan = e.clone();
        nan[5] = Float.NaN;
        assertInvalid(saeFeature(nan, d, 1).build(), "interventions[0].sae_feature.encoder");
        Intervention badBias = saeFeature(e, d, 1).build();
        assertInvalid(badBias.toBuilder().setSaeFeature(badBias.getSaeFeature().toBuilder().setEncoderBias(Double.NaN)).build(),
                "interventions[0].sae_feature.encoder_bias");
        assertInvalid(badBias.toBuilder().setSaeFeature(badBias.getSaeFeature().toBuilder().setThreshold(Double.NEGATIVE_INFINITY)).build(),
                "interventions[0].sae_feature.threshold");
        assertInvalid(badBias.toBuilder().setSaeFeature(badBias.getSaeFeature().toBuilder()
                .setInputBias(TensorCodec.ofFloats(new float[8], 8))).build(), "interventions[0].sae_feature.input_bias");
        assertInvalid(kind(InterventionKind.CLAMP, PositionPolicy.ALL).setValue(1).setSaeFeature(badBias.getSaeFeature()).build(),
                "interventions[0].sae_feature");
    }

    private static void assertInvalid(Intervention iv, String field) {
        var e = assertThrows(StatusRuntimeException.class, () -> collect(svc.blocking().generate(GenerateRequest.newBuilder()
                .setPrompt(text("Once")).setSampling(greedy(2)).addInterventions(iv).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getMessage());
        assertTrue(e.getStatus().getDescription().startsWith(field), e.getStatus().getDescription());
    }
}
