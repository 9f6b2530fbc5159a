package steering.vector.grpc;

import steering.common.steer.VectorTensor;
import io.grpc.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.vector.grpc.Effects.assertStatus;

/**
 * The trained recipe on stories260K through the real mesh: BiPO lowers its held-out loss, its vector raises the
 * positive completions more than a CAA vector of the same norm, progress carries the loss, a long run can be
 * cancelled, RePS trains too, and bad input is refused at once.
 */
class TrainedVectorLoopbackTest {
    static TestMesh mesh;
    static final String HOOK = "blocks.3.hook_resid_post";
    static final List<String> DOG = List.of("The dog barked at the ball.", "Max the dog wagged his tail.",
            "The puppy ran to the dog.", "A big dog dug in the garden.", "The dog slept by the door.",
            "Lily gave the dog a bone.", "The little dog jumped in the park.", "Tom walked his dog to school.",
            "The dog and the puppy played.", "A happy dog ran after the stick.", "The brown dog drank water.",
            "Sam hugged his dog.");
    static final List<String> CAT = List.of("The cat sat on the mat.", "The kitten played with the cat.",
            "Tom saw a cat in the tree.", "A black cat slept in the sun.", "The cat drank her milk.",
            "Lily gave the cat a fish.", "The little cat climbed the wall.", "Mia fed her cat at home.",
            "The cat and the kitten purred.", "A soft cat sat on the bed.", "The white cat chased a mouse.",
            "Ben petted his cat.");

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
    }

    static HookPoint hook(String name) {
        return HookPoint.newBuilder().setName(name).build();
    }

    static TrainedRecipe.Builder dogOverCat() {
        return TrainedRecipe.newBuilder().setHook(hook(HOOK))
                .setSentences(SentencePairs.newBuilder().addAllPositive(DOG).addAllNegative(CAT).addPrompts("").addPrompts("Once upon a time,"))
                .setSteps(40).setBatchSize(4).setLearningRate(0.1).setBeta(0.5).setEvalEvery(5).setPatience(4).setHeldOutFraction(0.25);
    }

    static Operation run(BuildVectorRequest request, List<Operation> seen) {
        Operation op = mesh.vectors().startBuildVector(request);
        assertEquals("BuildVector", op.getKind());
        Iterator<Operation> it = VectorServiceGrpc.newBlockingStub(mesh.vectorChannel).withDeadlineAfter(600, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        Operation last = null;
        while (it.hasNext()) {
            last = it.next();
            if (seen != null) seen.add(last);
        }
        return last;
    }

    /** Mean over the sentences of logp(sentence | prompt) under the intervention minus unsteered. */
    static double meanGain(Intervention iv, List<String> sentences) {
        double gain = 0;
        for (String s : sentences) {
            ScoreRequest.Builder r = ScoreRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("Once upon a time,").setAddBos(true))
                    .setContinuationText(" " + s);
            double steered = mesh.models().score(r.clone().addInterventions(iv).build()).getTotalLogprob();
            double plain = mesh.models().score(r.build()).getTotalLogprob();
            gain += steered - plain;
        }
        return gain / sentences.size();
    }

    @Test
    void bipoLowersItsHeldOutLossAndRaisesThePositivesMoreThanCaaOfTheSameNorm() throws Exception {
        List<Operation> seen = new ArrayList<>();
        Operation done = run(BuildVectorRequest.newBuilder().setVectorId("trained-dog-bipo").setTrained(dogOverCat().setMaxNorm(1.0)).build(), seen);
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        assertTrue(seen.stream().anyMatch(o -> o.getMetricsMap().containsKey("loss") && o.getMessage().startsWith("step ")),
                "progress reports the loss per step");
        SteeringVector v = done.getResult().unpack(BuildVectorResponse.class).getVector();
        assertEquals(VectorMethod.VECTOR_METHOD_TRAINED, v.getMethod());
        TrainingReport t = v.getTraining();
        assertEquals(TrainingObjective.TRAINING_OBJECTIVE_BIPO, t.getObjective());
        assertEquals(9, t.getTrainPairs());
        assertEquals(3, t.getHeldOutPairs());
        assertEquals(t.getStepsRun(), t.getLossCount());
        assertEquals(0, t.getHeldOutSteps(0));
        assertEquals(Math.log(2), t.getHeldOutLoss(0), 1e-4, "the zero vector is the reference: loss log 2");
        double bestHeldOut = t.getHeldOutLossList().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        assertTrue(bestHeldOut < 0.9 * Math.log(2), "held-out loss " + t.getHeldOutLossList());
        assertTrue(t.getBestStep() > 0);
        assertTrue(t.getHeldOutAccuracy() >= 2.0 / 3, "held-out accuracy " + t.getHeldOutAccuracy());
        // stored, with its provenance
        SteeringVector stored = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("trained-dog-bipo").build());
        assertEquals(t, stored.getTraining());
        assertEquals(dogOverCat().setMaxNorm(1.0).build(), stored.getRecipe().getTrained());

        // a CAA vector from the same sentences, scaled to the trained vector's norm
        SteeringVector caa = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(hook(HOOK)).addAllPositive(DOG).addAllNegative(CAT)).build()).getVector();
        double trainedGain = meanGain(stored.getIntervention(), DOG);
        double caaGain = meanGain(caa.getIntervention().toBuilder().setScale(stored.getNorm() / caa.getNorm()).build(), DOG);
        double trainedMargin = trainedGain - meanGain(stored.getIntervention(), CAT);
        double caaMargin = caaGain - meanGain(caa.getIntervention().toBuilder().setScale(stored.getNorm() / caa.getNorm()).build(), CAT);
        System.out.printf("trained vector |v| %.3f: dog log-prob gain %.3f, dog - cat margin %.3f; CAA of the same norm %.3f, %.3f%n",
                stored.getNorm(), trainedGain, trainedMargin, caaGain, caaMargin);
        // under a norm bound of 1 (at norm 4 BiPO's DPO-style loss widens the margin by lowering both sides:
        // docs/vector-service.md) the trained vector raises the dog sentences more, and widens their lead far more
        assertTrue(trainedGain > caaGain && trainedGain > 0, "log-prob gain of the dog sentences: trained " + trainedGain
                + ", CAA of the same norm " + caaGain + " (|v| " + stored.getNorm() + ")");
        assertTrue(trainedMargin > 1.5 * caaMargin, "dog - cat margin: trained " + trainedMargin + ", CAA " + caaMargin);
    }

    @Test
    void repsTrainsWithANormBound() throws Exception {
        Operation done = run(BuildVectorRequest.newBuilder().setSave(false).setTrained(dogOverCat()
                .setObjective(TrainingObjective.TRAINING_OBJECTIVE_REPS_NEGATED_FACTOR).setSteps(20).setMaxNorm(3.0)).build(), null);
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        SteeringVector v = done.getResult().unpack(BuildVectorResponse.class).getVector();
        assertTrue(v.getNorm() <= 3.0 + 1e-4, "norm " + v.getNorm());
        TrainingReport t = v.getTraining();
        assertTrue(t.getHeldOutLossList().stream().mapToDouble(Double::doubleValue).min().orElseThrow() < t.getHeldOutLoss(0),
                "held-out loss " + t.getHeldOutLossList());
        float[] data = TensorCodec.toFloats(VectorTensor.of(v));
        assertEquals(64, data.length);
    }

    @Test
    void aLongRunCanBeCancelled() throws Exception {
        Operation op = mesh.vectors().startBuildVector(BuildVectorRequest.newBuilder().setSave(false)
                .setTrained(dogOverCat().setSteps(2000).setEvalEvery(2000)).build());
        VectorServiceGrpc.VectorServiceBlockingStub stub = VectorServiceGrpc.newBlockingStub(mesh.vectorChannel).withDeadlineAfter(120, TimeUnit.SECONDS);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!stub.getOperation(GetOperationRequest.newBuilder().setId(op.getId()).build()).getMessage().startsWith("step ")
                && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        stub.cancelOperation(CancelOperationRequest.newBuilder().setId(op.getId()).build());
        Operation done = TestMesh.await(stub.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()));
        assertEquals(OperationState.OPERATION_STATE_CANCELLED, done.getState());
    }

    @Test
    void badRecipesAreRefusedAtOnce() {
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startBuildVector(BuildVectorRequest.newBuilder()
                .setTrained(dogOverCat().setLearningRate(Double.NaN)).build()), "trained.learning_rate");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startBuildVector(BuildVectorRequest.newBuilder()
                .setTrained(dogOverCat().setHook(hook("blocks.9.hook_resid_post"))).build()), "trained.hook.name");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startBuildVector(BuildVectorRequest.newBuilder()
                .setTrained(TrainedRecipe.newBuilder().setHook(hook(HOOK)).addPairs(PreferencePair.newBuilder()
                        .setPositive("a dog").setNegative("a cat"))).build()), "trained.pairs", "at least 2");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startBuildVector(BuildVectorRequest.newBuilder()
                .setTrained(dogOverCat().addPairs(PreferencePair.newBuilder().setPositive("a dog"))).build()), "trained.pairs[0].negative");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startBuildVector(BuildVectorRequest.newBuilder()
                .setTrained(dogOverCat().setPositions(PositionPolicy.PROMPT_FRONT)).build()), "trained.positions");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().startBuildVector(BuildVectorRequest.newBuilder()
                .setTrained(dogOverCat().setSteps(0)).build()), "trained.steps");
    }
}
