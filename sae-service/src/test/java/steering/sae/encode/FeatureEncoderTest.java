package steering.sae.encode;

import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import steering.common.tensor.TensorCodec;
import steering.sae.store.SaeStore;
import steering.v1.EncodeRequest;
import steering.v1.EncodeResponse;
import steering.v1.FeatureReduction;
import steering.v1.SaeInput;

import static org.junit.jupiter.api.Assertions.*;

class FeatureEncoderTest {
    @RegisterExtension
    static final StoredFixture sae = new StoredFixture("saelens_topk");

    static EncodeResponse encode(EncodeRequest.Builder request) throws Exception {
        request.setInput(SaeInput.newBuilder().setActivations(TensorCodec.ofFloats(sae.x, sae.rows, 6)));
        try (SaeStore.Lease lease = sae.lease()) {
            return new FeatureEncoder(sae.reader(100)).encode(request.build(), lease);
        }
    }

    @Test
    void maxReductionOfATensorIsEachFeaturesLargestActivation() throws Exception {
        float[] perToken = TensorCodec.toFloats(encode(EncodeRequest.newBuilder()).getFeatures());
        int m = perToken.length / sae.rows;
        float[] max = new float[m];
        java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (int r = 0; r < sae.rows; r++) for (int j = 0; j < m; j++) max[j] = Math.max(max[j], perToken[r * m + j]);
        EncodeResponse reduced = encode(EncodeRequest.newBuilder().setReduction(FeatureReduction.FEATURE_REDUCTION_MAX));
        assertEquals(1, reduced.getRows());
        assertArrayEquals(max, TensorCodec.toFloats(reduced.getFeatures()));
        assertTrue(java.util.stream.IntStream.range(0, m).anyMatch(j -> max[j] > 0), "some feature fires on the fixture");
    }

    @Test
    void topKIsCheckedAgainstTheSaesWidth() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> encode(EncodeRequest.newBuilder().setTopK(11)));
        assertEquals("top_k: 11 is outside [0, 10] (0 = dense)", e.getStatus().getDescription());
    }

    @Test
    void meanCosineCountsAZeroRowAsZero() {
        float[] x = {1, 0, 0, 2, 0, 0};
        float[] y = {2, 0, 0, -1, 0, 0};
        assertEquals(2.0 / 3, FeatureEncoder.meanCosine(x, x, 3, 2), 1e-12); // 1, 1 and the zero row's 0
        assertEquals(0.0, FeatureEncoder.meanCosine(x, y, 3, 2), 1e-12); // +1, -1, 0
    }
}
