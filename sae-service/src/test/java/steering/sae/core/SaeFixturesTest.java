package steering.sae.core;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import steering.common.npz.NpyArray;
import steering.common.npz.NpzFile;
import steering.v1.SaeSourceFormat;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Loads the SAEs that scripts/sae/make_sae_fixtures.py wrote in each public format and checks encode and
 * reconstruct against the feature activations and reconstructions NumPy computed for them.
 */
public class SaeFixturesTest {
    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    static Path fixture(String name) throws Exception {
        return Path.of(SaeFixturesTest.class.getResource("/sae-fixtures/" + name).toURI());
    }

    @ParameterizedTest
    @CsvSource({
            "saelens_topk, SAE_SOURCE_FORMAT_SAELENS, TOPK, 3, NONE, true, blocks.1.hook_resid_post, 10",
            "saelens_topk_rescale, SAE_SOURCE_FORMAT_SAELENS, TOPK, 2, NONE, true, blocks.0.hook_resid_pre, 10",
            "saelens_jumprelu_ln, SAE_SOURCE_FORMAT_SAELENS, JUMPRELU, 0, LAYER_NORM, false, blocks.2.hook_resid_mid, 10",
            "saelens_standard_pre6, SAE_SOURCE_FORMAT_SAELENS, STANDARD, 0, CONSTANT_NORM_RESCALE, true, blocks.3.hook_resid_post, 10",
            "saelens_batchtopk, SAE_SOURCE_FORMAT_SAELENS, BATCHTOPK, 2, NONE, true, blocks.1.hook_resid_post, 10",
            "gemma_scope/layer_3/width_16/average_l0_4, SAE_SOURCE_FORMAT_GEMMA_SCOPE, JUMPRELU, 0, NONE, false, blocks.3.hook_resid_post, 16",
            "sparsify/layers.2, SAE_SOURCE_FORMAT_SPARSIFY, TOPK, 3, NONE, true, blocks.2.hook_resid_post, 12",
    })
    void encodesAndReconstructsAsNumpyDoes(String name, SaeSourceFormat format, Architecture arch, int k,
                                           Normalization norm, boolean applyBDec, String hook, int dSae) throws Exception {
        Path dir = fixture(name);
        assertEquals(format, SaeLoaders.detect(dir));
        SaeFiles files = SaeLoaders.load(dir, SaeSourceFormat.SAE_SOURCE_FORMAT_UNSPECIFIED);
        SaeConfig cfg = files.config();
        assertEquals(arch, cfg.architecture());
        assertEquals(k, cfg.k());
        assertEquals(norm, cfg.normalization());
        assertEquals(applyBDec, cfg.applyBDecToInput());
        assertEquals(hook, cfg.hookName());
        assertEquals(6, cfg.dIn());
        assertEquals(dSae, cfg.dSae());

        Map<String, NpyArray> expected = NpzFile.readAll(dir.resolve("expected.npz"));
        NpyArray x = expected.get("x");
        int rows = (int) x.shape()[0];
        try (Sae sae = new Sae(cfg, files.weights())) {
            float[] f = sae.encode(x.data(), rows);
            assertClose(expected.get("features").data(), f, name + " features");
            Sae.Reconstruction r = sae.reconstruct(x.data(), rows);
            assertClose(expected.get("features").data(), r.features(), name + " features (reconstruct)");
            assertClose(expected.get("reconstruction").data(), r.reconstruction(), name + " reconstruction");
            int active = 0;
            for (float v : f) if (v != 0) active++;
            assertTrue(active > 0, name + ": the fixture activates some features");
        }
    }

    public static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            float tol = 1e-4f * Math.max(1f, Math.abs(expected[i]));
            assertEquals(expected[i], actual[i], tol, what + "[" + i + "]");
        }
    }
}
