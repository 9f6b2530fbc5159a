package steering.sae.encode;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;
import steering.common.tensor.TensorCodec;
import steering.sae.store.SaeStore;
import steering.v1.Prompt;
import steering.v1.SaeInput;
import steering.v1.TextInputs;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** The tensor path of SaeInput and the checks made before model-service is asked (which no test here reaches). */
class SaeInputReaderTest {
    @RegisterExtension
    static final StoredFixture sae = new StoredFixture("saelens_topk");

    static InputRows read(SaeInput input, int maxRows) throws Exception {
        try (SaeStore.Lease lease = sae.lease()) {
            return sae.reader(maxRows).read(input, "input", lease);
        }
    }

    static SaeInput activations(float[] x, long... shape) {
        return SaeInput.newBuilder().setActivations(TensorCodec.ofFloats(x, shape)).build();
    }

    static void assertInvalid(String message, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertEquals(message, e.getStatus().getDescription());
    }

    @Test
    void aTensorIsItsRowsInOneGroupWithoutTexts() throws Exception {
        InputRows in = read(activations(sae.x, sae.rows, 6), 100);
        assertArrayEquals(sae.x, in.data());
        assertEquals(sae.rows, in.rows());
        assertEquals(1, in.groups().size());
        assertArrayEquals(new int[]{0, sae.rows}, in.groups().get(0));
        assertTrue(in.texts().isEmpty());

        InputRows one = read(activations(Arrays.copyOf(sae.x, 6), 6), 1);
        assertEquals(1, one.rows());
    }

    @Test
    void theRowLimitIsStatedBeforeAnyValueIsLookedAt() {
        float[] x = sae.x.clone();
        x[4] = Float.NaN;
        assertInvalid("input.activations: " + sae.rows + " rows is outside [1, 2]; use EncodeStream for more",
                () -> read(activations(x, sae.rows, 6), 2));
        assertInvalid("input.activations: element 4 is NaN; values must be finite", () -> read(activations(x, sae.rows, 6), 100));
    }

    @Test
    void badInputNamesTheField() {
        StatusRuntimeException shape = assertThrows(StatusRuntimeException.class, () -> read(activations(new float[14], 2, 7), 100));
        assertTrue(shape.getStatus().getDescription().startsWith("input.activations: shape [2, 7] does not fit the SAE's d_in 6"),
                shape.getStatus().getDescription());
        assertInvalid("input: set activations or texts", () -> read(SaeInput.getDefaultInstance(), 100));
        assertInvalid("input.texts.prompts: at least one prompt is required",
                () -> read(SaeInput.newBuilder().setTexts(TextInputs.getDefaultInstance()).build(), 100));
        TextInputs.Builder many = TextInputs.newBuilder();
        for (int i = 0; i <= SaeInputReader.MAX_PROMPTS; i++) many.addPrompts(Prompt.newBuilder().setText("p" + i));
        assertInvalid("input.texts.prompts: 65 prompts is outside [1, 64]", () -> read(SaeInput.newBuilder().setTexts(many).build(), 100));
    }
}
