package steering.sae.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.npz.NpzFile;
import steering.common.safetensors.SafetensorsWriter;
import steering.v1.SaeSourceFormat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static steering.sae.core.SaeFixturesTest.assertClose;

/**
 * The encoder/decoder against plain Java loops ({@link RefMath}) for every architecture and normalisation, and
 * the loaders on fixtures this test writes in each format.
 */
class SaeMathTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    static SaeWeights randomWeights(Random rnd, int d, int m, boolean threshold) {
        float[] wEnc = gauss(rnd, d * m, 1);
        float[] bEnc = gauss(rnd, m, 0.3);
        float[] wDec = gauss(rnd, m * d, 1);
        float[] bDec = gauss(rnd, d, 0.5);
        float[] thr = null;
        if (threshold) {
            thr = new float[m];
            for (int j = 0; j < m; j++) thr[j] = 0.1f + rnd.nextFloat();
        }
        return new SaeWeights(wEnc, bEnc, wDec, bDec, thr, null);
    }

    static float[] gauss(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * scale);
        return a;
    }

    @Test
    void everyArchitectureAndNormalisationMatchesThePlainLoops() {
        Random rnd = new Random(7);
        int d = 24, m = 96, n = 37;
        for (Architecture arch : Architecture.values()) {
            for (Normalization norm : new Normalization[]{Normalization.NONE, Normalization.CONSTANT_NORM_RESCALE, Normalization.LAYER_NORM}) {
                for (boolean applyBDec : new boolean[]{true, false}) {
                    for (boolean rescale : arch == Architecture.TOPK ? new boolean[]{false, true} : new boolean[]{false}) {
                        boolean thr = arch == Architecture.JUMPRELU;
                        SaeWeights w = randomWeights(rnd, d, m, thr);
                        SaeConfig c = new SaeConfig(arch, d, m, arch.usesK() ? 5 : 0, applyBDec, norm, rescale, "", "", true, 0, "");
                        float[] x = gauss(rnd, n * d, 3);
                        String what = arch + "/" + norm + "/bdec=" + applyBDec + "/rescale=" + rescale;
                        try (Sae sae = new Sae(c, w)) {
                            float[] f = sae.encode(x, n);
                            assertClose(RefMath.encode(c, w, x, n), f, what + " encode");
                            assertClose(RefMath.decode(c, w, f, n), sae.decode(f, n), what + " decode");
                            assertClose(RefMath.reconstruct(c, w, x, n), sae.reconstruct(x, n).reconstruction(), what + " reconstruct");
                            if (arch == Architecture.TOPK) {
                                for (int r = 0; r < n; r++) {
                                    int active = 0;
                                    for (int j = 0; j < m; j++) if (f[r * m + j] != 0) active++;
                                    assertTrue(active <= 5, what + ": row " + r + " has " + active + " > k active features");
                                }
                            }
                            if (arch == Architecture.BATCHTOPK) {
                                int active = 0;
                                for (float v : f) if (v != 0) active++;
                                assertTrue(active <= 5 * n, what + ": " + active + " > k * n active features");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void largeInputsAreChunkedWithoutChangingTheResult() {
        Random rnd = new Random(11);
        int d = 8, m = 70_000, n = 70; // 70 rows x 70k features exceeds one chunk of 4M elements
        SaeWeights w = randomWeights(rnd, d, m, false);
        SaeConfig c = new SaeConfig(Architecture.TOPK, d, m, 4, true, Normalization.NONE, false, "", "", true, 0, "");
        float[] x = gauss(rnd, n * d, 1);
        try (Sae sae = new Sae(c, w)) {
            float[] f = sae.encode(x, n);
            assertClose(RefMath.encode(c, w, x, n), f, "chunked encode");
            SparseRows sparse = sae.encodeSparse(x, n, 2);
            for (int r = 0; r < n; r++) {
                assertTrue(sparse.count(r) <= 2);
                for (int i = sparse.offsets()[r]; i < sparse.offsets()[r + 1]; i++) {
                    assertEquals(f[r * m + sparse.indices()[i]], sparse.values()[i]);
                    if (i > sparse.offsets()[r]) assertTrue(sparse.values()[i - 1] >= sparse.values()[i], "largest first");
                }
            }
        }
    }

    @Test
    void sparseRowsRoundTripAndDirectionsAreDecoderRows() {
        Random rnd = new Random(3);
        int d = 10, m = 30;
        SaeWeights w = randomWeights(rnd, d, m, false);
        SaeConfig c = new SaeConfig(Architecture.STANDARD, d, m, 0, true, Normalization.NONE, false, "", "", true, 0, "");
        float[] x = gauss(rnd, 4 * d, 2);
        try (Sae sae = new Sae(c, w)) {
            float[] f = sae.encode(x, 4);
            SparseRows all = SparseRows.fromDense(f, 4, m, 0);
            assertArrayEquals(f, all.toDense(m));
            float[] dirs = sae.directions(new int[]{5, 0}, false);
            for (int i = 0; i < d; i++) {
                assertEquals(w.wDec()[5 * d + i], dirs[i]);
                assertEquals(w.wDec()[i], dirs[d + i]);
            }
            float[] unit = sae.directions(new int[]{5}, true);
            double s = 0;
            for (float v : unit) s += v * v;
            assertEquals(1.0, s, 1e-5);
            double norm5 = 0;
            for (int i = 0; i < d; i++) norm5 += w.wDec()[5 * d + i] * w.wDec()[5 * d + i];
            assertEquals(Math.sqrt(norm5), sae.decoderNorms()[5], 1e-5);
        }
    }

    @Test
    void kthLargestSelects() {
        Random rnd = new Random(5);
        for (int t = 0; t < 50; t++) {
            float[] a = new float[1 + rnd.nextInt(200)];
            for (int i = 0; i < a.length; i++) a[i] = rnd.nextInt(20); // many ties
            float[] sorted = a.clone();
            java.util.Arrays.sort(sorted);
            int k = 1 + rnd.nextInt(a.length);
            assertEquals(sorted[a.length - k], Sae.kthLargest(a.clone(), k));
        }
    }

    @Test
    void theSaeLensWriterRoundTripsAndKeepsTheMath(@TempDir Path dir) throws Exception {
        Random rnd = new Random(9);
        SaeWeights w = randomWeights(rnd, 12, 40, true);
        SaeConfig c = new SaeConfig(Architecture.JUMPRELU, 12, 40, 0, false, Normalization.NONE, false,
                "stories260K", "blocks.2.hook_resid_post", true, 128, "tinystories-1000");
        SaeLensWriter.write(dir, c, w);
        SaeFiles back = SaeLoaders.load(dir, SaeSourceFormat.SAE_SOURCE_FORMAT_UNSPECIFIED);
        assertEquals(c, back.config());
        assertArrayEquals(w.wEnc(), back.weights().wEnc());
        assertArrayEquals(w.threshold(), back.weights().threshold());
        var cfg = JSON.readTree(dir.resolve("cfg.json").toFile());
        assertEquals("jumprelu", cfg.get("architecture").asText());
        assertEquals("blocks.2.hook_resid_post", cfg.get("metadata").get("hook_name").asText());

        SaeWeights tk = randomWeights(rnd, 12, 40, false);
        SaeConfig tc = new SaeConfig(Architecture.TOPK, 12, 40, 7, true, Normalization.NONE, false, "m", "blocks.0.hook_resid_pre", false, 64, "x");
        Path d2 = dir.resolve("topk");
        Files.createDirectories(d2);
        SaeLensWriter.write(d2, tc, tk);
        assertEquals(tc, SaeLoaders.loadSaeLens(d2).config());
    }

    @Test
    void gemmaScopeNpzWrittenHereLoadsWithLowercaseKeysAndUnitScalingFactor(@TempDir Path dir) throws Exception {
        Random rnd = new Random(21);
        int d = 8, m = 20;
        SaeWeights w = randomWeights(rnd, d, m, true);
        Map<String, Map.Entry<long[], float[]>> arrays = new LinkedHashMap<>();
        arrays.put("w_enc", new AbstractMap.SimpleEntry<>(new long[]{d, m}, w.wEnc()));
        arrays.put("b_enc", new AbstractMap.SimpleEntry<>(new long[]{m}, w.bEnc()));
        arrays.put("threshold", new AbstractMap.SimpleEntry<>(new long[]{m}, w.threshold()));
        arrays.put("w_dec", new AbstractMap.SimpleEntry<>(new long[]{m, d}, w.wDec()));
        arrays.put("b_dec", new AbstractMap.SimpleEntry<>(new long[]{d}, w.bDec()));
        float[] ones = new float[m];
        java.util.Arrays.fill(ones, 1f);
        arrays.put("scaling_factor", new AbstractMap.SimpleEntry<>(new long[]{m}, ones));
        Path npz = dir.resolve("params.npz");
        NpzFile.writeFloat32(npz, arrays);
        SaeFiles files = SaeLoaders.load(npz, SaeSourceFormat.SAE_SOURCE_FORMAT_UNSPECIFIED);
        assertEquals(SaeSourceFormat.SAE_SOURCE_FORMAT_GEMMA_SCOPE, files.format());
        assertNull(files.weights().decodeScale(), "an all-ones scaling factor is dropped");
        assertFalse(files.config().applyBDecToInput());
        SaeConfig ref = new SaeConfig(Architecture.JUMPRELU, d, m, 0, false, Normalization.NONE, false, "", "", true, 0, "");
        float[] x = gauss(rnd, 6 * d, 2);
        try (Sae sae = new Sae(files.config(), files.weights())) {
            assertClose(RefMath.encode(ref, w, x, 6), sae.encode(x, 6), "gemma scope encode");
        }
    }

    @Test
    void sparsifyDirectoryWrittenHereEncodesLikeTopKWithBDecSubtracted(@TempDir Path dir) throws Exception {
        Random rnd = new Random(31);
        int d = 8, m = 24, k = 4;
        float[] enc = gauss(rnd, m * d, 1); // [num_latents, d_in]
        float[] bias = gauss(rnd, m, 0.2);
        float[] wDec = gauss(rnd, m * d, 1);
        float[] bDec = gauss(rnd, d, 0.5);
        new SafetensorsWriter().add("encoder.weight", new long[]{m, d}, enc).add("encoder.bias", new long[]{m}, bias)
                .add("W_dec", new long[]{m, d}, wDec).add("b_dec", new long[]{d}, bDec)
                .write(dir.resolve("sae.safetensors"));
        Files.writeString(dir.resolve("cfg.json"), "{\"expansion_factor\": 3, \"normalize_decoder\": true, \"num_latents\": 0, \"k\": " + k + ", \"d_in\": " + d + "}");
        SaeFiles files = SaeLoaders.load(dir, SaeSourceFormat.SAE_SOURCE_FORMAT_UNSPECIFIED);
        assertEquals(SaeSourceFormat.SAE_SOURCE_FORMAT_SPARSIFY, files.format());
        assertEquals(m, files.config().dSae(), "num_latents 0 means d_in * expansion_factor");
        float[] x = gauss(rnd, 5 * d, 2);
        // plain loops in sparsify's own orientation: relu((x - b_dec) enc^T + bias), top k
        float[] expected = new float[5 * m];
        for (int r = 0; r < 5; r++) {
            double[] pre = new double[m];
            for (int j = 0; j < m; j++) {
                double s = bias[j];
                for (int i = 0; i < d; i++) s += (x[r * d + i] - bDec[i]) * enc[j * d + i];
                pre[j] = Math.max(0, s);
            }
            Integer[] order = new Integer[m];
            for (int j = 0; j < m; j++) order[j] = j;
            java.util.Arrays.sort(order, (a, b) -> Double.compare(pre[b], pre[a]));
            for (int t = 0; t < k; t++) expected[r * m + order[t]] = (float) pre[order[t]];
        }
        try (Sae sae = new Sae(files.config(), files.weights())) {
            float[] f = sae.encode(x, 5);
            assertClose(expected, f, "sparsify encode");
            float[] y = sae.decode(f, 5);
            for (int r = 0; r < 5; r++) {
                for (int i = 0; i < d; i++) {
                    double s = bDec[i];
                    for (int j = 0; j < m; j++) s += f[r * m + j] * wDec[j * d + i];
                    assertEquals(s, y[r * d + i], 1e-4 * Math.max(1, Math.abs(s)));
                }
            }
        }
    }

    @Test
    void brokenFilesAreRejectedWithTheFileAndTheProblemNamed(@TempDir Path dir) throws Exception {
        Random rnd = new Random(1);
        SaeWeights w = randomWeights(rnd, 4, 6, false);
        SaeConfig c = new SaeConfig(Architecture.STANDARD, 4, 6, 0, true, Normalization.NONE, false, "", "", true, 0, "");

        Path wrongShape = Files.createDirectories(dir.resolve("wrong-shape"));
        SaeLensWriter.write(wrongShape, c, w);
        ObjectNode cfg = (ObjectNode) JSON.readTree(wrongShape.resolve("cfg.json").toFile());
        cfg.put("d_sae", 7);
        Files.writeString(wrongShape.resolve("cfg.json"), cfg.toString());
        String msg = assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.loadSaeLens(wrongShape)).getMessage();
        assertTrue(msg.contains("wrong-shape") && msg.contains("W_enc") && msg.contains("[4, 7]"), msg);

        Path unknownArch = Files.createDirectories(dir.resolve("gated"));
        SaeLensWriter.write(unknownArch, c, w);
        cfg = (ObjectNode) JSON.readTree(unknownArch.resolve("cfg.json").toFile());
        cfg.put("architecture", "gated");
        Files.writeString(unknownArch.resolve("cfg.json"), cfg.toString());
        msg = assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.loadSaeLens(unknownArch)).getMessage();
        assertTrue(msg.contains("gated") && msg.contains("supported"), msg);

        Path hookZ = Files.createDirectories(dir.resolve("hookz"));
        SaeLensWriter.write(hookZ, c, w);
        cfg = (ObjectNode) JSON.readTree(hookZ.resolve("cfg.json").toFile());
        cfg.put("reshape_activations", "hook_z");
        Files.writeString(hookZ.resolve("cfg.json"), cfg.toString());
        assertTrue(assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.loadSaeLens(hookZ)).getMessage().contains("hook_z"));

        Path jumpNoThreshold = Files.createDirectories(dir.resolve("jump"));
        SaeLensWriter.write(jumpNoThreshold, c, w);
        cfg = (ObjectNode) JSON.readTree(jumpNoThreshold.resolve("cfg.json").toFile());
        cfg.put("architecture", "jumprelu");
        Files.writeString(jumpNoThreshold.resolve("cfg.json"), cfg.toString());
        assertTrue(assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.loadSaeLens(jumpNoThreshold)).getMessage().contains("threshold"));

        Path badJson = Files.createDirectories(dir.resolve("badjson"));
        SaeLensWriter.write(badJson, c, w);
        Files.writeString(badJson.resolve("cfg.json"), "{not json");
        assertTrue(assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.loadSaeLens(badJson)).getMessage().contains("invalid JSON"));

        Path truncated = Files.createDirectories(dir.resolve("truncated"));
        SaeLensWriter.write(truncated, c, w);
        byte[] all = Files.readAllBytes(truncated.resolve("sae_weights.safetensors"));
        Files.write(truncated.resolve("sae_weights.safetensors"), java.util.Arrays.copyOf(all, all.length - 10));
        assertTrue(assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.loadSaeLens(truncated)).getMessage().contains("truncated"));

        Path transcoder = Files.createDirectories(dir.resolve("transcoder"));
        Files.writeString(transcoder.resolve("cfg.json"), "{\"num_latents\": 6, \"k\": 2, \"d_in\": 4, \"transcode\": true}");
        Files.writeString(transcoder.resolve("sae.safetensors"), "");
        assertTrue(assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.load(transcoder, null)).getMessage().contains("transcode"));

        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertTrue(assertThrows(SaeLoaders.SaeFormatException.class, () -> SaeLoaders.detect(empty)).getMessage().contains("no known SAE layout"));

        float[] nan = w.wEnc().clone();
        nan[3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> new Sae(c, new SaeWeights(nan, w.bEnc(), w.wDec(), w.bDec(), null, null)));
    }
}
