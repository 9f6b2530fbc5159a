package steering.vector.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.function.Executable;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.vector.methods.Vec;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Measurements of a steering vector's effect through the real services. */
final class Effects {
    static final List<String> PROMPTS = List.of("Once upon a time", "One day", "Tom and Lily", "The little dog", "She was", "The sun");

    private Effects() {}

    /**
     * SAE-TS's measure: generate steered text (4 seeded samples per prompt, 24 tokens), re-read it unsteered through
     * the SAE, and return the weighted mean activation of the features over all the generated sequences.
     */
    static double featureActivation(TestMesh mesh, Intervention iv, int[] features, double[] weights) {
        List<Prompt> seqs = new ArrayList<>();
        for (String p : PROMPTS) {
            for (int k = 0; k < 4; k++) {
                GenerateRequest.Builder g = GenerateRequest.newBuilder().setPrompt(Prompt.newBuilder().setText(p))
                        .setSampling(SamplingParams.newBuilder().setMaxTokens(24).setTemperature(0.8f).setSeed(100 + k).setIgnoreEos(true));
                if (iv != null && iv.getScale() != 0) g.addInterventions(iv);
                seqs.add(ModelClient.tokens(mesh.modelClient.generate(g.build()).all()));
            }
        }
        float[] mean = Vec.mean(mesh.saeClient.encodeMean(TestMesh.SAE_ID, seqs, false));
        double s = 0;
        for (int i = 0; i < features.length; i++) s += weights[i] * mean[features[i]];
        return s;
    }

    static double featureActivation(TestMesh mesh, Intervention iv, int feature) {
        return featureActivation(mesh, iv, new int[]{feature}, new double[]{1});
    }

    /** Total log-prob of a continuation after a prompt under the interventions. */
    static double logprob(TestMesh mesh, Prompt prompt, String continuation, Intervention... ivs) {
        ScoreRequest.Builder b = ScoreRequest.newBuilder().setPrompt(prompt).setContinuationText(continuation);
        for (Intervention iv : ivs) if (iv.getScale() != 0) b.addInterventions(iv);
        return mesh.models().score(b.build()).getTotalLogprob();
    }

    static double logprob(TestMesh mesh, String prompt, String continuation, Intervention... ivs) {
        return logprob(mesh, Prompt.newBuilder().setText(prompt).build(), continuation, ivs);
    }

    static Intervention scaled(SteeringVector v, double scale) {
        return v.getIntervention().toBuilder().setScale(scale).build();
    }

    /** Asserts a gRPC failure with the code and a description containing every fragment. */
    static StatusRuntimeException assertStatus(Status.Code code, Executable call, String... fragments) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        for (String f : fragments) {
            assertTrue(e.getStatus().getDescription() != null && e.getStatus().getDescription().contains(f),
                    "'" + f + "' in: " + e.getStatus().getDescription());
        }
        return e;
    }
}
