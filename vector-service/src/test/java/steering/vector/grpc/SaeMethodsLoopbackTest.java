package steering.vector.grpc;

import steering.common.steer.VectorTensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.safetensors.SafetensorsFile;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.vector.methods.SaeTs;
import steering.vector.methods.Vec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.vector.grpc.Effects.featureActivation;
import static steering.vector.grpc.Effects.logprob;
import static steering.vector.grpc.Effects.scaled;

/**
 * SAE decoder steering, the effect approximator, SAE-TS and FGAA end to end with an SAE that sae-service trains on
 * stories260K's own activations (TopK, 256 features at blocks.2.hook_resid_post). Effects are measured as SAE-TS does:
 * steered generations re-read unsteered through the SAE.
 */
class SaeMethodsLoopbackTest {
    static TestMesh mesh;
    static EffectApproximatorInfo approximator;
    static SteeringVector fgaa;
    static int dogFeature;

    static final List<String> DOGS = List.of("The dog barked at the ball.", "Max the dog wagged his tail.",
            "The puppy ran to the dog.", "The big dog liked to play fetch.");
    static final List<String> CATS = List.of("The cat sat on the mat.", "The kitten played with the cat.",
            "Tom saw a cat in the tree.", "The cat drank some milk.");

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
        mesh.sae();
        approximator = mesh.approximator();
        fgaa = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("fgaa-dog")
                .setFgaa(FgaaRecipe.newBuilder().setApproximatorId(approximator.getId()).setMaxDensity(0.2).setNPos(5).setNNeg(2)
                        .addAllPositive(DOGS).addAllNegative(CATS)).build()).getVector();
        dogFeature = fgaa.getFeatures(0).getFeature();
    }

    static WeightedFeature wf(int f, double w) {
        return WeightedFeature.newBuilder().setFeature(f).setWeight(w).build();
    }

    @Test
    void decoderSteeringIsTheUnitWeightedSumOfDecoderRowsNotDecodeOfAOneHot() {
        int a = dogFeature, b = (dogFeature + 1) % 256;
        SteeringVector one = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID).addFeatures(wf(a, 1))).build()).getVector();
        FeatureDirectionsResponse rows = mesh.saes().featureDirections(FeatureDirectionsRequest.newBuilder().setSaeId(TestMesh.SAE_ID)
                .addFeatures(a).addFeatures(b).build());
        float[] r = TensorCodec.toFloats(rows.getDirections());
        float[] ra = java.util.Arrays.copyOfRange(r, 0, 64), rb = java.util.Arrays.copyOfRange(r, 64, 128);
        assertArrayEquals(Vec.unit(ra), TensorCodec.toFloats(VectorTensor.of(one)), 1e-6f);
        assertEquals(TestMesh.SAE_HOOK, one.getHook().getName());
        assertEquals(PositionPolicy.ALL, one.getPositions());
        assertEquals(List.of(wf(a, 1)), one.getFeaturesList());
        // decode(one_hot) adds b_dec: a different direction
        float[] oneHot = new float[256];
        oneHot[a] = 1;
        float[] decoded = TensorCodec.toFloats(mesh.saes().decode(DecodeRequest.newBuilder().setSaeId(TestMesh.SAE_ID)
                .setDense(TensorCodec.ofFloats(oneHot, 256)).build()).getReconstruction());
        assertTrue(Vec.cosine(Vec.unit(decoded), TensorCodec.toFloats(VectorTensor.of(one))) < 0.99, "decode(one_hot) is not the decoder row");
        // two features: unit(0.7 r_a + 0.3 r_b)
        SteeringVector two = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID).addFeatures(wf(a, 0.7)).addFeatures(wf(b, 0.3))).build()).getVector();
        float[] mix = new float[64];
        for (int i = 0; i < 64; i++) mix[i] = 0.7f * ra[i] + 0.3f * rb[i];
        assertArrayEquals(Vec.unit(mix), TensorCodec.toFloats(VectorTensor.of(two)), 1e-6f);
    }

    @Test
    void decoderSteeringRaisesItsFeatureInTheGeneratedText() {
        SteeringVector v = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("decoder-dog")
                .setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID).addFeatures(wf(dogFeature, 1))).build()).getVector();
        double a0 = featureActivation(mesh, null, dogFeature), a8 = featureActivation(mesh, scaled(v, 8), dogFeature);
        assertTrue(a8 > a0 + 0.1, "feature " + dogFeature + " activation unsteered " + a0 + ", at scale 8 " + a8);
    }

    @Test
    void theApproximatorWasTrainedAsALongRunningOperationAndPredictsBetterThanItsBias() throws Exception {
        EffectApproximatorMetrics m = approximator.getMetrics();
        assertEquals(240, m.getDirections() , "every planned direction was measured (none has a zero decoder row)");
        assertEquals(24, m.getHeldOutDirections());
        assertEquals(216, m.getTrainDirections());
        assertTrue(m.getHeldOutR2() > 0.05, "held-out R^2 " + m.getHeldOutR2());
        assertTrue(m.getHeldOutCosine() > m.getHeldOutCosineBiasOnly() + 0.01,
                "cosine of predicted and measured effects " + m.getHeldOutCosine() + " vs the bias alone " + m.getHeldOutCosineBiasOnly());
        assertTrue(m.getTrainR2() >= m.getHeldOutR2());
        // scales calibrated to +1 nat of loss lie around the residual norm
        assertTrue(m.getMinScale() > 0.1 * m.getResidualNorm() && m.getMaxScale() < 4 * m.getResidualNorm(), m.toString());
        assertEquals(approximator.getDSae(), 256);
        assertEquals(TestMesh.SAE_HOOK, approximator.getHook().getName());
        assertEquals(approximator, mesh.vectors().getEffectApproximator(GetEffectApproximatorRequest.newBuilder().setId(approximator.getId()).build()));
        assertEquals(List.of(approximator.getId()), mesh.vectors().listEffectApproximators(ListEffectApproximatorsRequest.newBuilder()
                .setSaeId(TestMesh.SAE_ID).build()).getApproximatorsList().stream().map(EffectApproximatorInfo::getId).distinct().toList());
        assertEquals(0, mesh.vectors().listEffectApproximators(ListEffectApproximatorsRequest.newBuilder().setModelId("other").build()).getApproximatorsCount());
        // on disk: W [d_model, d_sae], b [d_sae] and the training data
        Path file = mesh.approximators.root().resolve(approximator.getId()).resolve("approximator.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new long[]{64, 256}, f.tensor("W").shape());
            assertArrayEquals(new long[]{256}, f.tensor("b").shape());
            assertArrayEquals(new long[]{240, 64}, f.tensor("directions").shape());
            assertArrayEquals(new long[]{240, 256}, f.tensor("effects").shape());
            float[] dirs = f.readFloats("directions");
            for (int i = 0; i < 240; i++) assertEquals(1.0, Vec.rowNorm(dirs, i, 64), 1e-5, "directions are unit vectors");
        }
        assertTrue(Files.readString(file.resolveSibling("metadata.json")).contains("\"held_out_r2\""));
    }

    @Test
    void saeTsFollowsItsFormulaAndRaisesTheTargetWhereDecoderSteeringNeedsMore() throws Exception {
        SteeringVector ts = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("sae-ts-dog")
                .setSaeTs(SaeTsRecipe.newBuilder().setApproximatorId(approximator.getId()).addTargets(wf(dogFeature, 1))).build()).getVector();
        assertEquals(VectorMethod.VECTOR_METHOD_SAE_TS, ts.getMethod());
        assertEquals(TestMesh.SAE_HOOK, ts.getHook().getName());
        assertEquals(1.0, ts.getNorm(), 1e-5);
        assertEquals(List.of(wf(dogFeature, 1)), ts.getFeaturesList());
        // v = unit(unit(M t) - unit(M b)) with the stored W and b
        float[] w, b;
        try (SafetensorsFile f = SafetensorsFile.open(mesh.approximators.root().resolve(approximator.getId()).resolve("approximator.safetensors"))) {
            w = f.readFloats("W");
            b = f.readFloats("b");
        }
        float[] t = new float[256];
        t[dogFeature] = 1;
        float[] mt = Vec.unit(SaeTs.mTimes(w, 64, 256, t)), mb = Vec.unit(SaeTs.mTimes(w, 64, 256, b));
        assertArrayEquals(Vec.unit(Vec.sub(mt, mb)), TensorCodec.toFloats(VectorTensor.of(ts)), 1e-5f);
        // without the bias correction, M t is the unit input with the largest predicted effect on t: more than the decoder row's
        SteeringVector plain = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setSaeTs(SaeTsRecipe.newBuilder().setApproximatorId(approximator.getId()).addTargets(wf(dogFeature, 1)).setBiasScale(0)).build()).getVector();
        assertArrayEquals(mt, TensorCodec.toFloats(VectorTensor.of(plain)), 1e-5f);
        SteeringVector dec = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("decoder-dog").build());
        double predictedTs = Vec.dot(mt, column(w, dogFeature)), predictedDec = Vec.dot(TensorCodec.toFloats(dec.getIntervention().getVector()), column(w, dogFeature));
        assertTrue(predictedTs >= predictedDec, predictedTs + " >= " + predictedDec);
        assertEquals(predictedTs, Double.parseDouble(plain.getMetadataOrThrow("predicted_target_effect")), 1e-4);
        // measured: at about the calibrated scale (loss + 1 nat) SAE-TS raises its target in the generated text
        double s = approximator.getMetrics().getMeanScale();
        double a0 = featureActivation(mesh, null, dogFeature), aTs = featureActivation(mesh, scaled(ts, s), dogFeature);
        assertTrue(aTs > a0 + 0.1 && aTs > 1.5 * a0, "feature " + dogFeature + ": unsteered " + a0 + ", SAE-TS at scale " + s + ": " + aTs);
    }

    static float[] column(float[] w, int j) {
        float[] c = new float[64];
        for (int i = 0; i < 64; i++) c[i] = w[i * 256 + j];
        return c;
    }

    @Test
    void fgaaPicksContrastiveFeaturesThroughTheFiltersAndSteersTowardsThem() {
        FeatureStatsResponse stats = mesh.saes().featureStats(FeatureStatsRequest.newBuilder().setSaeId(TestMesh.SAE_ID).build());
        float[] density = TensorCodec.toFloats(stats.getDensity());
        assertTrue(fgaa.getFeaturesCount() >= 1 && fgaa.getFeaturesCount() <= 7, fgaa.getFeaturesList().toString());
        int positives = 0;
        for (WeightedFeature f : fgaa.getFeaturesList()) {
            assertFalse(stats.getBosFeaturesList().contains(f.getFeature()), "BOS feature " + f.getFeature() + " was removed");
            assertTrue(density[f.getFeature()] <= 0.2, "feature " + f.getFeature() + " density " + density[f.getFeature()]);
            if (f.getWeight() > 0) positives++;
        }
        assertTrue(positives >= 1 && positives <= 5);
        int droppedBos = Integer.parseInt(fgaa.getMetadataOrThrow("dropped_bos_features"));
        assertTrue(droppedBos >= 0 && droppedBos <= stats.getBosFeaturesCount());
        // the weights are the SAE-space contrast: recompute it from sae-service's own encodings
        float[] pos = mean(DOGS), neg = mean(CATS);
        for (WeightedFeature f : fgaa.getFeaturesList()) {
            assertEquals(pos[f.getFeature()] - neg[f.getFeature()], f.getWeight(), 1e-4, "weight of feature " + f.getFeature());
        }
        // the top positive feature is the largest remaining contrast
        for (int j = 0; j < 256; j++) {
            if (density[j] > 0.2 || stats.getBosFeaturesList().contains(j)) continue;
            assertTrue(pos[j] - neg[j] <= fgaa.getFeatures(0).getWeight() + 1e-6, "feature " + j + " has a larger contrast");
        }
        // steering: the picked features rise in the generated text and so does " dog"
        int[] fs = fgaa.getFeaturesList().stream().filter(f -> f.getWeight() > 0).mapToInt(WeightedFeature::getFeature).toArray();
        double[] ws = fgaa.getFeaturesList().stream().filter(f -> f.getWeight() > 0).mapToDouble(WeightedFeature::getWeight).toArray();
        double s = approximator.getMetrics().getMeanScale();
        double t0 = featureActivation(mesh, null, fs, ws), ts = featureActivation(mesh, scaled(fgaa, s), fs, ws);
        assertTrue(ts > 2 * t0, "target features " + t0 + " -> " + ts + " at scale " + s);
        String prompt = "Once upon a time, there was a little";
        assertTrue(logprob(mesh, prompt, " dog", scaled(fgaa, s)) > logprob(mesh, prompt, " dog") + 2);
    }

    static float[] mean(List<String> texts) {
        List<Prompt> prompts = texts.stream().map(t -> Prompt.newBuilder().setText(t).setAddBos(true).build()).toList();
        return Vec.mean(mesh.saeClient.encodeMean(TestMesh.SAE_ID, prompts, false));
    }

    @Test
    void trainingCanBeWatchedAndCancelled() throws Exception {
        Operation op = mesh.vectors().startTrainEffectApproximator(TestMesh.approximatorRequest().setApproximatorId("to-cancel")
                .setDecoderDirections(256).setMixtureDirections(2000).build());
        assertEquals("TrainEffectApproximator", op.getKind());
        Iterator<Operation> it = VectorServiceGrpc.newBlockingStub(mesh.vectorChannel).withDeadlineAfter(120, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        Operation seen = it.next();
        while (it.hasNext() && !seen.getMessage().startsWith("measured")) seen = it.next();
        assertTrue(seen.getMessage().startsWith("measured"), seen.toString());
        assertTrue(seen.getProgress() > 0.04 && seen.getProgress() < 0.5);
        mesh.vectors().cancelOperation(CancelOperationRequest.newBuilder().setId(op.getId()).build());
        Operation last = seen;
        while (it.hasNext()) last = it.next();
        assertEquals(OperationState.OPERATION_STATE_CANCELLED, last.getState());
        assertEquals(OperationState.OPERATION_STATE_CANCELLED, mesh.vectors().getOperation(GetOperationRequest.newBuilder().setId(op.getId()).build()).getState());
        assertFalse(mesh.approximators.exists("to-cancel"), "a cancelled training stores nothing");
    }
}
