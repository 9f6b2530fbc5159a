package steering.vector.grpc;

import steering.common.steer.VectorTensor;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.v1.*;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * GetVector (and BuildVector's answer) sends a stored vector's tensor once (issue 15): in the intervention, ready for model-service, with
 * SteeringVector.vector unset; an SAE_FEATURE vector, whose intervention holds the SAE's tensors, keeps its direction
 * in vector. Real services on loopback.
 */
class GetVectorLoopbackTest {
    static TestMesh mesh;
    static final HookPoint HOOK = HookPoint.newBuilder().setName("blocks.2.hook_resid_pre").build();
    static final Prompt PROMPT = Prompt.newBuilder().setText("Once upon a time").build();

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
    }

    @Test
    void theTensorTravelsOnceInTheInterventionAndStillSteers() {
        SteeringVector built = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("once-dog").setOverwrite(true)
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HOOK).addPositive("The dog barked at the ball.")
                        .addNegative("The cat sat on the mat.")).build()).getVector();
        SteeringVector got = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("once-dog").setStrength(8).build());
        ByteString data = VectorTensor.of(built).getData();
        assertEquals(64 * 4, data.size());
        assertEquals(1, occurrences(got.toByteString(), data), "the vector's bytes appear once in GetVector's answer");
        assertFalse(got.hasVector());
        assertEquals(VectorTensor.of(built), got.getIntervention().getVector());
        assertEquals(8.0, got.getIntervention().getScale(), 1e-12);

        // GetVector -> Generate: its intervention steers as the built one at the same scale does
        List<Integer> plain = generate(), steered = generate(got.getIntervention());
        assertNotEquals(plain, steered, "scale 8 changes the greedy continuation");
        assertEquals(steered, generate(built.getIntervention().toBuilder().setScale(8).build()));
    }

    @Test
    void anSaeFeatureVectorKeepsItsDirectionBesideTheSaesTensors() {
        mesh.sae();
        SteeringVector built = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("once-feature").setOverwrite(true)
                .setKind(InterventionKind.SAE_FEATURE).setValue(4).setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID)
                        .addFeatures(WeightedFeature.newBuilder().setFeature(3).setWeight(1))).build()).getVector();
        SteeringVector got = mesh.vectors().getVector(GetVectorRequest.newBuilder().setId("once-feature").build());
        assertEquals(built.getVector(), got.getVector());
        assertFalse(got.getIntervention().hasVector());
        assertTrue(got.getIntervention().getSaeFeature().hasEncoder() && got.getIntervention().getSaeFeature().hasDecoder());
    }

    @Test
    void buildVectorAnswersWithTheTensorOnceToo() {
        BuildVectorResponse r = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId("once-built").setSave(false)
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(HOOK).addPositive("The dog ran.").addNegative("The cat sat.")).build());
        ByteString data = r.getVector().getIntervention().getVector().getData();
        assertEquals(64 * 4, data.size());
        assertEquals(1, occurrences(r.toByteString(), data), "the vector's bytes appear once in BuildVector's answer");
        assertFalse(r.getVector().hasVector());
        assertEquals(r.getVector().getIntervention().getVector(), VectorTensor.of(r.getVector()));
    }

    private static List<Integer> generate(Intervention... ivs) {
        GenerateRequest g = GenerateRequest.newBuilder().setPrompt(PROMPT).addAllInterventions(Arrays.asList(ivs))
                .setSampling(SamplingParams.newBuilder().setMaxTokens(16).setIgnoreEos(true)).build();
        return Arrays.stream(mesh.modelClient.generate(g).ids()).boxed().toList();
    }

    private static int occurrences(ByteString haystack, ByteString needle) {
        byte[] h = haystack.toByteArray(), n = needle.toByteArray();
        int count = 0;
        for (int i = 0; i + n.length <= h.length; i++) {
            if (Arrays.equals(h, i, i + n.length, n, 0, n.length)) count++;
        }
        return count;
    }
}
