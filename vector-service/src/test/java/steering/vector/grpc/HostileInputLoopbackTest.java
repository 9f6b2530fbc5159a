package steering.vector.grpc;

import io.grpc.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import steering.common.grpc.RawCalls;
import steering.v1.*;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static steering.common.grpc.RawCalls.field;
import static steering.vector.grpc.Effects.assertStatus;

/**
 * What a hostile client sends vector-service (and, through the same mesh, sae-service): INVALID_ARGUMENT naming the
 * field for invalid UTF-8 and unknown enum numbers, the message type for bytes that are none, and the caller's own
 * field when model-service refuses a text that came from the recipe.
 */
class HostileInputLoopbackTest {
    static final byte[] BAD_UTF8 = {'v', (byte) 0xC0, (byte) 0xAF};
    static TestMesh mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
    }

    static void assertInvalid(String expected, Status s) {
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), s.toString());
        assertTrue(s.getDescription().startsWith(expected), s.getDescription());
    }

    static int number(com.google.protobuf.Descriptors.Descriptor type, String field) {
        return type.findFieldByName(field).getNumber();
    }

    @Test
    void invalidUtf8IsNamedOnVectorAndSaeService() {
        assertInvalid("id: invalid UTF-8", RawCalls.call(mesh.vectorChannel, VectorServiceGrpc.getGetVectorMethod(),
                field(number(GetVectorRequest.getDescriptor(), "id"), BAD_UTF8)));
        byte[] positive = field(number(ActAddRecipe.getDescriptor(), "positive"), BAD_UTF8);
        assertInvalid("actadd.positive: invalid UTF-8", RawCalls.call(mesh.vectorChannel, VectorServiceGrpc.getBuildVectorMethod(),
                field(number(BuildVectorRequest.getDescriptor(), "actadd"), positive)));
        assertInvalid("sae_id: invalid UTF-8", RawCalls.call(mesh.saeChannel, SaeServiceGrpc.getGetSaeInfoMethod(),
                field(number(GetSaeInfoRequest.getDescriptor(), "sae_id"), BAD_UTF8)));
    }

    @Test
    void randomBytesAreNotARequest() {
        Random random = new Random(7);
        byte[] garbage = new byte[100];
        random.nextBytes(garbage);
        garbage[0] = (byte) 0x07; // field 0: an invalid tag
        assertInvalid("the request is not a valid steering.v1.BuildVectorRequest",
                RawCalls.call(mesh.vectorChannel, VectorServiceGrpc.getBuildVectorMethod(), garbage));
        assertInvalid("the request is not a valid steering.v1.EncodeRequest",
                RawCalls.call(mesh.saeChannel, SaeServiceGrpc.getEncodeMethod(), garbage));
        assertNotNull(mesh.vectors().listVectors(ListVectorsRequest.getDefaultInstance()));
    }

    @Test
    void unknownFileFormatsAreNamedWithTheAllowedValues() {
        for (int format : new int[]{99, -1}) {
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().exportVector(ExportVectorRequest.newBuilder()
                    .setId("any").setFormatValue(format).build()), "format: " + format + " is not a known VectorFileFormat; allowed: "
                    + "VECTOR_FILE_FORMAT_UNSPECIFIED (0), VECTOR_FILE_FORMAT_SAFETENSORS (1), VECTOR_FILE_FORMAT_GGUF (2)");
        }
    }

    @Test
    void modelServiceRefusalsNameTheRecipeField() {
        String longSentence = "Once upon a time there was a little girl. ".repeat(200);
        HookPoint hook = HookPoint.newBuilder().setName("blocks.1.hook_resid_pre").build();
        var e = assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(BuildVectorRequest.newBuilder()
                .setActadd(ActAddRecipe.newBuilder().setHook(hook).setPositive(longSentence).setNegative("b")).build()));
        assertTrue(e.getStatus().getDescription().matches("actadd\\.positive: the prompt has \\d+ tokens, the limit is 512"),
                e.getStatus().getDescription());
        e = assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(BuildVectorRequest.newBuilder()
                .setCaaMean(CaaMeanRecipe.newBuilder().setHook(hook).addPositive("a").addPositive(longSentence).addNegative("b")).build()));
        assertTrue(e.getStatus().getDescription().matches("caa_mean\\.positive\\[1]: the prompt has \\d+ tokens, the limit is 512"),
                e.getStatus().getDescription());
        AbItem shortItem = AbItem.newBuilder().setQuestion("Is it?").setAnswerMatchingBehavior(" (A)").setAnswerNotMatchingBehavior(" (B)").build();
        e = assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(BuildVectorRequest.newBuilder()
                .setCaa(CaaRecipe.newBuilder().setHook(hook).addItems(shortItem).addItems(shortItem.toBuilder().setQuestion(longSentence))).build()));
        assertTrue(e.getStatus().getDescription().matches("caa\\.items\\[1]: the prompt has \\d+ tokens, the limit is 512; drop long items.*"),
                e.getStatus().getDescription());
        e = assertStatus(Status.Code.INVALID_ARGUMENT, () -> mesh.vectors().buildVector(BuildVectorRequest.newBuilder()
                .setActadd(ActAddRecipe.newBuilder().setHook(hook).setPositive("a").setNegative("x".repeat(20000))).build()));
        assertEquals("actadd.negative: the text has more than 16384 bytes of UTF-8, the limit of a text field is 16384",
                e.getStatus().getDescription());
    }
}
