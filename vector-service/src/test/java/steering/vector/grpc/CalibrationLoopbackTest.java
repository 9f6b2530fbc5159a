package steering.vector.grpc;

import io.grpc.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.v1.*;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.vector.grpc.Effects.assertStatus;

/** Scale calibration: behaviour x coherence over a sweep, the best scale stored with the vector. */
class CalibrationLoopbackTest {
    static TestMesh mesh;
    static SteeringVector dog;

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
        dog = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("calibrate-dog")
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_post"))
                        .addPositive("The dog barked at the ball.").addPositive("Max the dog wagged his tail.").addPositive("The puppy ran to the dog.")
                        .addNegative("The cat sat on the mat.").addNegative("The kitten played with the cat.").addNegative("Tom saw a cat in the tree."))
                .build()).getVector();
    }

    static Operation run(CalibrateScaleRequest r) {
        Operation op = mesh.vectors().startCalibrateScale(r);
        assertEquals("CalibrateScale", op.getKind());
        return TestMesh.await(VectorServiceGrpc.newBlockingStub(mesh.vectorChannel).withDeadlineAfter(300, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()));
    }

    @Test
    void theBestScaleTradesTheTargetAgainstCoherenceAndBecomesStrengthOne() throws Exception {
        Operation done = run(CalibrateScaleRequest.newBuilder().setVectorId(dog.getId())
                .setTargetText(VectorTargetText.newBuilder().addTexts(" dog")).build());
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        CalibrateScaleResult r = done.getResult().unpack(CalibrateScaleResult.class);
        VectorCalibration c = r.getCalibration();
        assertEquals(9, c.getPointsCount(), "0 and 8 multiples of residual norm / |v|");
        assertEquals("target_text_logprob", c.getBehaviourMeasure());
        VectorCalibrationPoint zero = c.getPoints(0);
        assertEquals(0, zero.getScale());
        assertEquals(1.0, zero.getCoherence(), 1e-12, "unsteered text is as coherent as itself");
        VectorCalibrationPoint best = c.getPointsList().stream().filter(p -> p.getScale() == c.getBestScale()).findFirst().orElseThrow();
        for (VectorCalibrationPoint p : c.getPointsList()) {
            assertEquals(p.getBehaviour() * p.getCoherence(), p.getScore(), 1e-12);
            assertTrue(p.getScore() <= best.getScore());
            assertTrue(p.getCoherence() >= 0 && p.getCoherence() <= 1 && p.getBehaviour() >= 0 && p.getBehaviour() <= 1);
        }
        assertTrue(c.getBestScale() > 0, "steering helps: " + c);
        assertTrue(best.getBehaviour() > 2 * zero.getBehaviour(), "p(dog) " + zero.getBehaviour() + " -> " + best.getBehaviour());
        VectorCalibrationPoint largest = c.getPoints(c.getPointsCount() - 1);
        assertTrue(largest.getCoherence() < 0.9, "over-steering costs coherence: " + largest);
        // stored: strength 1 is the best scale now
        SteeringVector stored = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId(dog.getId()).build());
        assertEquals(c.getBestScale(), stored.getDefaultScale());
        assertEquals(c, stored.getCalibration());
        assertEquals(c.getBestScale(), stored.getIntervention().getScale(), 1e-12);
        SteeringVector half = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId(dog.getId()).setStrength(0.5).build());
        assertEquals(0.5 * c.getBestScale(), half.getIntervention().getScale(), 1e-12);
    }

    @Test
    void saeVectorsAreCalibratedOnTheirOwnFeaturesByDefault() throws Exception {
        mesh.sae();
        SteeringVector v = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("calibrate-decoder")
                .setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID).addFeatures(WeightedFeature.newBuilder().setFeature(7).setWeight(1)))
                .build()).getVector();
        Operation done = run(CalibrateScaleRequest.newBuilder().setVectorId(v.getId()).addScales(0).addScales(4).addScales(8)
                .setSamplesPerPrompt(1).setMaxTokens(16).setSave(false).build());
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        VectorCalibration c = done.getResult().unpack(CalibrateScaleResult.class).getCalibration();
        assertEquals("target_features", c.getBehaviourMeasure());
        assertEquals(3, c.getPointsCount());
        double max = c.getPointsList().stream().mapToDouble(VectorCalibrationPoint::getBehaviour).max().orElseThrow();
        assertEquals(1.0, max, 1e-12, "feature behaviour is relative to the sweep's largest activation");
        assertEquals(1.0, mesh.vectors().getVector(GetVectorRequest.newBuilder().setId(v.getId()).build()).getDefaultScale(), "save = false stores nothing");
    }

    @Test
    void aCaaCalibrationTokenizesEachTextOnceAndSendsTheIdsOnward() throws Exception {
        SteeringVector caa = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("calibrate-caa").setOverwrite(true)
                .setCaa(CaaRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_post")).addItems(AbItem.newBuilder()
                        .setQuestion("Do you like dogs?\n\nChoices:\n (A) Yes\n (B) No").setAnswerMatchingBehavior("(A)").setAnswerNotMatchingBehavior("(B)")))
                .build()).getVector();
        assertEquals("\nResponse:", caa.getPositionMarker());
        // the marker ends the first prompt, sits inside the second (its prefix is tokenized too), is not in the third
        List<String> prompts = List.of("Input: Do you like cats?\nResponse:", "Input: Tell me a story.\nResponse: Once", "Once upon a time");
        List<String> targets = List.of(" dog", " cat");
        int texts = mesh.modelCalls.texts(), tokenize = mesh.modelCalls.count("Tokenize");
        Operation done = run(CalibrateScaleRequest.newBuilder().setVectorId(caa.getId()).addAllPrompts(prompts)
                .setTargetText(VectorTargetText.newBuilder().addAllTexts(targets)).addScales(0).addScales(2).addScales(4)
                .setSamplesPerPrompt(1).setMaxTokens(4).setSave(false).build());
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        assertEquals(3, done.getResult().unpack(CalibrateScaleResult.class).getCalibration().getPointsCount());
        int tokenized = mesh.modelCalls.texts() - texts;
        System.out.printf("calibrating a CAA vector (3 prompts, 2 target texts, 3 scales): model-service tokenized %d texts in %d Tokenize calls%n",
                tokenized, mesh.modelCalls.count("Tokenize") - tokenize);
        // 3 prompts, the second's prefix up to the marker, 2 target texts: once each, then token ids to Generate and Score
        assertEquals(6, tokenized);
        assertEquals(6, mesh.modelCalls.count("Tokenize") - tokenize);
    }

    @Test
    void badCalibrationRequestsAreRefusedAtOnce() {
        assertStatus(Status.Code.NOT_FOUND, () -> mesh.vectors().startCalibrateScale(CalibrateScaleRequest.newBuilder().setVectorId("nope").build()), "nope");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startCalibrateScale(CalibrateScaleRequest.newBuilder().setVectorId(dog.getId()).build()),
                "behaviour");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startCalibrateScale(CalibrateScaleRequest.newBuilder().setVectorId(dog.getId())
                .setTargetText(VectorTargetText.newBuilder().addTexts(" dog")).addScales(Double.NaN).build()), "scales[0]");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startCalibrateScale(CalibrateScaleRequest.newBuilder().setVectorId(dog.getId())
                .setTargetText(VectorTargetText.newBuilder().addTexts(" dog")).setSamplesPerPrompt(99).build()), "samples_per_prompt", "[1, 16]");
        SteeringVector act = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("calibrate-actadd")
                .setActadd(ActAddRecipe.newBuilder().setHook(HookPoint.newBuilder().setName("blocks.1.hook_resid_pre"))
                        .setPositive("Lily was very very happy today").setNegative("Lily was sad")).build()).getVector();
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startCalibrateScale(CalibrateScaleRequest.newBuilder().setVectorId(act.getId())
                .addPrompts("Hi").setTargetText(VectorTargetText.newBuilder().addTexts(" happy")).build()), "prompts[0]", "PROMPT_FRONT");
    }
}
