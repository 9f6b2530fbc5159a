package steering.model.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.tensor.TensorCodec;
import steering.model.TestModels;
import steering.v1.ExampleGradients;
import steering.v1.GradientExample;
import steering.v1.InterventionKind;
import steering.v1.PositionPolicy;
import steering.v1.Prompt;
import steering.v1.ScoreGradientsRequest;
import steering.v1.ScoreGradientsResponse;
import steering.v1.ScoreRequest;
import steering.v1.TokenIds;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static steering.model.grpc.Wire.*;

/**
 * ScoreGradients against central finite differences of Score (float32): the gradient of a continuation's log-prob
 * with respect to a steering vector, per example, with multipliers, position policies and fixed interventions
 * beside the trainable one; the same on a Gemma model; batch isolation; bad input.
 */
class ScoreGradientsGrpcTest {
    static LoopbackModelService stories;

    @BeforeAll
    static void start() throws Exception {
        stories = new LoopbackModelService(TestModels.stories260k(), 4, 512);
    }

    @AfterAll
    static void stop() throws Exception {
        stories.close();
    }

    static float[] vector(int d, long seed, double norm) {
        Random r = new Random(seed);
        float[] v = new float[d];
        double s = 0;
        for (int i = 0; i < d; i++) {
            v[i] = (float) r.nextGaussian();
            s += v[i] * v[i];
        }
        for (int i = 0; i < d; i++) v[i] *= (float) (norm / Math.sqrt(s));
        return v;
    }

    static GradientExample example(Prompt prompt, String continuation, double multiplier) {
        return GradientExample.newBuilder().setPrompt(prompt).setContinuationText(continuation).setMultiplier(multiplier).build();
    }

    /** Score's total log-prob with the vector at the given scale and positions (and a fixed second intervention). */
    static double score(LoopbackModelService svc, GradientExample ex, steering.v1.Intervention trainable, float[] v,
                        double scale, List<steering.v1.Intervention> fixed) {
        ScoreRequest.Builder req = ScoreRequest.newBuilder().setPrompt(ex.getPrompt());
        if (ex.hasContinuationText()) req.setContinuationText(ex.getContinuationText());
        else req.setContinuationTokens(ex.getContinuationTokens());
        req.addInterventions(trainable.toBuilder().setVector(TensorCodec.ofFloats(v, v.length)).setScale(scale));
        req.addAllInterventions(fixed);
        double total = 0;
        for (float lp : svc.blocking().score(req.build()).getLogprobsList()) total += lp;
        return total;
    }

    /** Central differences of every coordinate; relative error of the whole vector against the autograd gradient. */
    static double relativeError(LoopbackModelService svc, GradientExample ex, steering.v1.Intervention trainable,
                                float[] v, List<steering.v1.Intervention> fixed, float[] gradient, double h) {
        double scale = trainable.getScale() * ex.getMultiplier();
        double diff = 0;
        double norm = 0;
        for (int c = 0; c < v.length; c++) {
            float[] plus = v.clone();
            float[] minus = v.clone();
            plus[c] += (float) h;
            minus[c] -= (float) h;
            double fd = (score(svc, ex, trainable, plus, scale, fixed) - score(svc, ex, trainable, minus, scale, fixed))
                    / (plus[c] - minus[c]);
            diff += (fd - gradient[c]) * (fd - gradient[c]);
            norm += gradient[c] * (double) gradient[c];
        }
        assertTrue(norm > 1e-6, "the gradient is not zero: " + norm);
        return Math.sqrt(diff / norm);
    }

    @Test
    void perExampleGradientsMatchFiniteDifferencesOfScore() {
        int d = 64;
        float[] v = vector(d, 1, 2.0);
        steering.v1.Intervention trainable = intervention("blocks.2.hook_resid_post", v, 1.5, PositionPolicy.ALL);
        steering.v1.Intervention generatedOnly = trainable.toBuilder().setPositions(PositionPolicy.GENERATED_ONLY).build();
        steering.v1.Intervention fixed = intervention("blocks.1.hook_resid_pre", vector(d, 2, 1.0), 1.0, PositionPolicy.ALL);
        List<GradientExample> examples = List.of(
                example(text("Once upon a time"), " there was a little girl named Lily.", 1.0),
                example(text("The dog ran"), " to the park and played with a ball.", -1.0));
        for (steering.v1.Intervention iv : List.of(trainable, generatedOnly)) {
            ScoreGradientsResponse r = stories.blocking().scoreGradients(ScoreGradientsRequest.newBuilder()
                    .addAllExamples(examples).addInterventions(iv).addInterventions(fixed).addTrainable(0).build());
            assertEquals(2, r.getExamplesCount());
            for (int i = 0; i < examples.size(); i++) {
                ExampleGradients eg = r.getExamples(i);
                float[] g = TensorCodec.toFloats(eg.getGradients(0));
                assertEquals(d, g.length);
                // the log-probs are Score's under the same interventions
                double scored = score(stories, examples.get(i), iv, v, iv.getScale() * examples.get(i).getMultiplier(), List.of(fixed));
                assertEquals(scored, eg.getTotalLogprob(), 1e-4 * Math.abs(scored), "example " + i);
                double err = relativeError(stories, examples.get(i), iv, v, List.of(fixed), g, 1e-2);
                assertTrue(err < 1e-3, iv.getPositions() + " example " + i + ": relative error " + err);
            }
        }
    }

    @Test
    void summedGradientIsTheGradientOfTheSummedLogprobAndExamplesDoNotMix() {
        int d = 64;
        float[] v = vector(d, 3, 2.0);
        steering.v1.Intervention iv = intervention("blocks.3.hook_resid_mid", v, 2.0, PositionPolicy.PROMPT_ONLY);
        List<GradientExample> examples = List.of(
                example(text("Tom had a red ball"), " and he loved it very much.", 1.0),
                example(text("The sun was hot"), " so they went to swim.", 1.0),
                example(text("Mia saw a cat"), " in the garden.", 0.5));
        ScoreGradientsResponse batch = stories.blocking().scoreGradients(ScoreGradientsRequest.newBuilder()
                .addAllExamples(examples).addInterventions(iv).addTrainable(0).build());
        float[] summed = TensorCodec.toFloats(batch.getSummedGradients(0));
        // directional derivative of sum_i logp_i(v) along a random unit direction, by central differences
        float[] u = vector(d, 4, 1.0);
        double h = 1e-2;
        double fd = 0;
        for (GradientExample ex : examples) {
            float[] plus = v.clone();
            float[] minus = v.clone();
            for (int c = 0; c < d; c++) {
                plus[c] += (float) (h * u[c]);
                minus[c] -= (float) (h * u[c]);
            }
            double s = iv.getScale() * ex.getMultiplier();
            fd += (score(stories, ex, iv, plus, s, List.of()) - score(stories, ex, iv, minus, s, List.of())) / (2 * h);
        }
        double analytic = 0;
        double sumOfRows = 0;
        for (int c = 0; c < d; c++) analytic += summed[c] * u[c];
        for (ExampleGradients eg : batch.getExamplesList()) {
            float[] g = TensorCodec.toFloats(eg.getGradients(0));
            for (int c = 0; c < d; c++) sumOfRows += g[c] * u[c];
        }
        assertEquals(fd, analytic, 2e-3 * Math.max(1, Math.abs(fd)), "directional derivative of the summed log-prob");
        assertEquals(analytic, sumOfRows, 1e-4 * Math.max(1, Math.abs(analytic)));
        // an example alone gets the gradient it gets in the batch
        for (int i = 0; i < examples.size(); i++) {
            ScoreGradientsResponse alone = stories.blocking().scoreGradients(ScoreGradientsRequest.newBuilder()
                    .addExamples(examples.get(i)).addInterventions(iv).addTrainable(0).build());
            float[] a = TensorCodec.toFloats(alone.getExamples(0).getGradients(0));
            float[] b = TensorCodec.toFloats(batch.getExamples(i).getGradients(0));
            for (int c = 0; c < d; c++) assertEquals(a[c], b[c], 1e-4 * Math.max(1, Math.abs(a[c])), "example " + i + " coordinate " + c);
        }
    }

    @Test
    void gemmaGradientMatchesFiniteDifferences() throws Exception {
        Path gemma = Path.of(ScoreGradientsGrpcTest.class.getResource("/reference/gemma3-tiny-random").toURI());
        try (LoopbackModelService svc = new LoopbackModelService(gemma, 2, 128)) {
            int d = 32;
            float[] v = vector(d, 5, 1.0);
            steering.v1.Intervention iv = intervention("blocks.1.hook_resid_post", v, 1.0, PositionPolicy.ALL);
            GradientExample ex = GradientExample.newBuilder().setPrompt(tokens(2, 17, 33, 51, 8))
                    .setContinuationTokens(TokenIds.newBuilder().addIds(40).addIds(9).addIds(77).addIds(12)).build();
            ScoreGradientsResponse r = svc.blocking().scoreGradients(ScoreGradientsRequest.newBuilder()
                    .addExamples(ex).addInterventions(iv).addTrainable(0).build());
            float[] g = TensorCodec.toFloats(r.getExamples(0).getGradients(0));
            double err = relativeError(svc, ex.toBuilder().setMultiplier(1).build(), iv, v, List.of(), g, 1e-2);
            assertTrue(err < 1e-3, "relative error " + err);
        }
    }

    @Test
    void badRequestsNameTheirField() {
        float[] v = vector(64, 6, 1.0);
        steering.v1.Intervention iv = intervention("blocks.2.hook_resid_post", v, 1.0, PositionPolicy.ALL);
        GradientExample ex = example(text("Once upon a time"), " there was", 1.0);
        assertInvalid(ScoreGradientsRequest.newBuilder().addExamples(ex).addInterventions(iv).build(), "trainable");
        assertInvalid(ScoreGradientsRequest.newBuilder().addInterventions(iv).addTrainable(0).build(), "examples");
        assertInvalid(ScoreGradientsRequest.newBuilder().addExamples(ex).addInterventions(iv).addTrainable(1).build(), "trainable[0]");
        assertInvalid(ScoreGradientsRequest.newBuilder().addExamples(ex).addInterventions(iv).addTrainable(0).addTrainable(0).build(), "trainable[1]");
        assertInvalid(ScoreGradientsRequest.newBuilder().addExamples(ex)
                .addInterventions(iv.toBuilder().setKind(InterventionKind.ABLATE).clearScale()).addTrainable(0).build(), "interventions[0].kind");
        assertInvalid(ScoreGradientsRequest.newBuilder().addExamples(ex)
                .addInterventions(iv.toBuilder().setHook(steering.v1.HookPoint.newBuilder().setName("blocks.99.hook_resid_post")))
                .addTrainable(0).build(), "interventions[0].hook.name");
        assertInvalid(ScoreGradientsRequest.newBuilder().addExamples(ex.toBuilder().setMultiplier(Double.NaN))
                .addInterventions(iv).addTrainable(0).build(), "examples[0].multiplier");
        assertInvalid(ScoreGradientsRequest.newBuilder().addExamples(ex.toBuilder().clearContinuationText())
                .addInterventions(iv).addTrainable(0).build(), "examples[0].continuation");
        // 9 examples of 500 tokens: more than the 4,096 tokens one request may hold
        TokenIds.Builder many = TokenIds.newBuilder();
        for (int i = 0; i < 499; i++) many.addIds(100 + i % 50);
        ScoreGradientsRequest.Builder big = ScoreGradientsRequest.newBuilder().addInterventions(iv).addTrainable(0);
        for (int i = 0; i < 9; i++) {
            big.addExamples(GradientExample.newBuilder().setPrompt(tokens(1)).setContinuationTokens(many));
        }
        StatusRuntimeException e = assertInvalid(big.build(), "examples");
        assertTrue(e.getStatus().getDescription().contains("4096"), e.getStatus().getDescription());
    }

    static StatusRuntimeException assertInvalid(ScoreGradientsRequest request, String field) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stories.blocking().scoreGradients(request));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().startsWith(field + ":"), e.getStatus().getDescription());
        return e;
    }
}
