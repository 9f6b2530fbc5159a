package steering.sae.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.grpc.RawCalls;
import steering.v1.*;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static steering.common.grpc.RawCalls.field;

/** What a hostile client sends sae-service: INVALID_ARGUMENT naming the field or the message type, and it goes on. */
class HostileInputTest {
    @TempDir
    static Path dataDir;
    static LoopbackMesh mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = new LoopbackMesh(dataDir.resolve("saes"));
    }

    @AfterAll
    static void stop() throws Exception {
        mesh.close();
    }

    static void assertInvalid(String expected, Status s) {
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), s.toString());
        assertTrue(s.getDescription().startsWith(expected), s.getDescription());
    }

    @Test
    void invalidUtf8RandomBytesAndUnknownEnumsAreRefusedByName() {
        byte[] bad = {'s', 'a', 'e', (byte) 0xFE};
        assertInvalid("sae_id: invalid UTF-8", RawCalls.call(mesh.channel, SaeServiceGrpc.getGetSaeInfoMethod(),
                field(GetSaeInfoRequest.SAE_ID_FIELD_NUMBER, bad)));
        byte[] texts = field(TextInputs.PROMPTS_FIELD_NUMBER, field(Prompt.TEXT_FIELD_NUMBER, bad));
        assertInvalid("input.texts.prompts[0].text: invalid UTF-8", RawCalls.call(mesh.channel, SaeServiceGrpc.getEncodeMethod(),
                field(EncodeRequest.INPUT_FIELD_NUMBER, field(SaeInput.TEXTS_FIELD_NUMBER, texts))));
        byte[] garbage = new byte[80];
        new Random(11).nextBytes(garbage);
        garbage[0] = (byte) 0xFF;
        assertInvalid("the request is not a valid steering.v1.EncodeRequest", RawCalls.call(mesh.channel, SaeServiceGrpc.getEncodeMethod(), garbage));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> mesh.blocking().encode(EncodeRequest.newBuilder()
                .setSaeId("x").setReductionValue(99).build()));
        assertInvalid("reduction: 99 is not a known FeatureReduction; allowed: FEATURE_REDUCTION_UNSPECIFIED (0)", e.getStatus());
        assertNotNull(mesh.blocking().listSaes(ListSaesRequest.getDefaultInstance()));
    }
}
