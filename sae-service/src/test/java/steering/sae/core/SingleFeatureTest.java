package steering.sae.core;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import steering.common.npz.NpyArray;
import steering.common.npz.NpzFile;
import steering.common.tensor.TensorCodec;
import steering.v1.SaeFeature;
import steering.v1.SaeSourceFormat;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What FeatureDirections hands SAE_FEATURE interventions, against the SAE's own arithmetic on the fixtures of every
 * public format: act(e.(x - input_bias) + b) is the feature Sae.encode gives wherever the feature fires (TopK: where
 * it is among the top k), and one unit of the feature moves the decoded reconstruction by the decoder row given.
 */
class SingleFeatureTest {
    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    @ParameterizedTest
    @ValueSource(strings = {"saelens_topk", "saelens_topk_rescale", "saelens_batchtopk",
            "gemma_scope/layer_3/width_16/average_l0_4", "sparsify/layers.2"})
    void oneFeatureEncodesAndDecodesAsTheSaeDoes(String name) throws Exception {
        SaeFiles files = SaeLoaders.load(SaeFixturesTest.fixture(name), SaeSourceFormat.SAE_SOURCE_FORMAT_UNSPECIFIED);
        NpyArray x = NpzFile.readAll(SaeFixturesTest.fixture(name).resolve("expected.npz")).get("x");
        int rows = (int) x.shape()[0];
        try (Sae sae = new Sae(files.config(), files.weights())) {
            int d = sae.dIn(), m = sae.dSae();
            float[] f = sae.encode(x.data(), rows);
            float[] zero = sae.decode(new float[m], 1);
            int compared = 0;
            for (int j = 0; j < m; j++) {
                SaeFeature one = SingleFeature.of("fixture", sae, j);
                float[] e = TensorCodec.toFloats(one.getEncoder());
                float[] bias = one.hasInputBias() ? TensorCodec.toFloats(one.getInputBias()) : new float[d];
                for (int r = 0; r < rows; r++) {
                    double pre = one.getEncoderBias();
                    for (int i = 0; i < d; i++) pre += (double) e[i] * (x.data()[r * d + i] - bias[i]);
                    double mine = pre > 0 && (!one.hasThreshold() || pre > one.getThreshold()) ? pre : 0;
                    float theirs = f[r * m + j];
                    if (theirs != 0 || !files.config().architecture().usesK()) {
                        assertEquals(theirs, mine, 1e-4 * (1 + Math.abs(theirs)), name + " feature " + j + " row " + r);
                        if (theirs != 0) compared++;
                    }
                }
                float[] unit = new float[m];
                unit[j] = 1f;
                float[] decoded = sae.decode(unit, 1);
                float[] row = TensorCodec.toFloats(one.getDecoder());
                for (int i = 0; i < d; i++) assertEquals(decoded[i] - zero[i], row[i], 1e-5, name + " decoder of " + j);
            }
            assertTrue(compared > 0, name + ": some features fire on the fixture");
        }
    }

    @Test
    void saesThatNormaliseEachRowAreRefused() throws Exception {
        SaeFiles files = SaeLoaders.load(SaeFixturesTest.fixture("saelens_jumprelu_ln"), SaeSourceFormat.SAE_SOURCE_FORMAT_UNSPECIFIED);
        try (Sae sae = new Sae(files.config(), files.weights())) {
            var e = assertThrows(IllegalArgumentException.class, () -> SingleFeature.of("ln", sae, 0));
            assertTrue(e.getMessage().contains("layer_norm"), e.getMessage());
        }
    }
}
