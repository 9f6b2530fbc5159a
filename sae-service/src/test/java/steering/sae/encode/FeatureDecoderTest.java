package steering.sae.encode;

import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import steering.common.tensor.TensorCodec;
import steering.sae.store.SaeStore;
import steering.v1.DecodeRequest;
import steering.v1.SparseFeatures;

import static org.junit.jupiter.api.Assertions.*;

class FeatureDecoderTest {
    @RegisterExtension
    static final StoredFixture sae = new StoredFixture("saelens_topk");

    static float[] decode(DecodeRequest.Builder request, int maxRows) throws Exception {
        try (SaeStore.Lease lease = sae.lease()) {
            return TensorCodec.toFloats(new FeatureDecoder(maxRows).decode(request.setSaeId("sae").build(), lease.sae()).getReconstruction());
        }
    }

    @Test
    void repeatedSparseIndicesAddUp() throws Exception {
        SparseFeatures twice = SparseFeatures.newBuilder().addOffsets(0).addOffsets(2)
                .addIndices(3).addValues(1.5f).addIndices(3).addValues(2f).build();
        float[] dense = new float[10];
        dense[3] = 3.5f;
        float[] expected = decode(DecodeRequest.newBuilder().setDense(TensorCodec.ofFloats(dense, 1, 10)), 1);
        assertArrayEquals(expected, decode(DecodeRequest.newBuilder().setSparse(twice), 1));
        assertEquals(6, expected.length);
    }

    @Test
    void theRowLimitIsStatedAfterTheValuesAreChecked() {
        float[] dense = new float[30];
        dense[0] = Float.POSITIVE_INFINITY;
        StatusRuntimeException bad = assertThrows(StatusRuntimeException.class,
                () -> decode(DecodeRequest.newBuilder().setDense(TensorCodec.ofFloats(dense, 3, 10)), 2));
        assertEquals("dense: element 0 is Infinity; values must be finite", bad.getStatus().getDescription());
        dense[0] = 0;
        StatusRuntimeException many = assertThrows(StatusRuntimeException.class,
                () -> decode(DecodeRequest.newBuilder().setDense(TensorCodec.ofFloats(dense, 3, 10)), 2));
        assertEquals("features: 3 rows is outside [1, 2]", many.getStatus().getDescription());
        StatusRuntimeException none = assertThrows(StatusRuntimeException.class, () -> decode(DecodeRequest.newBuilder(), 2));
        assertEquals("features: set dense or sparse", none.getStatus().getDescription());
    }
}
