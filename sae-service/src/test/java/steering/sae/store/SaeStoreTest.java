package steering.sae.store;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.sae.core.Architecture;
import steering.sae.core.Normalization;
import steering.sae.core.SaeConfig;
import steering.sae.core.SaeWeights;
import steering.sae.stats.FeatureStatsData;
import steering.sae.stats.TopContext;
import steering.v1.SaeSourceFormat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class SaeStoreTest {
    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    static SaeRecord record(String id, int d, int m) {
        SaeConfig c = new SaeConfig(Architecture.TOPK, d, m, 2, true, Normalization.NONE, false, "model", "blocks.0.hook_resid_post", true, 64, "x");
        return new SaeRecord(id, c, SaeSourceFormat.SAE_SOURCE_FORMAT_SAELENS, "trained", Instant.parse("2025-01-02T03:04:05Z"),
                Map.of("method", "test"), Map.of("variance_explained", 0.9, "train_tokens", 1000.0));
    }

    static SaeWeights weights(int d, int m, long seed) {
        Random r = new Random(seed);
        float[][] a = {new float[d * m], new float[m], new float[m * d], new float[d]};
        for (float[] x : a) for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        return new SaeWeights(a[0], a[1], a[2], a[3], null, null);
    }

    @Test
    void savedSaesListLoadAndKeepTheirSidecar(@TempDir Path dir) throws Exception {
        try (SaeStore store = new SaeStore(dir, 2)) {
            store.save(record("b", 4, 8), weights(4, 8, 1), null, false);
            store.save(record("a", 4, 8), weights(4, 8, 2), null, false);
            assertEquals(List.of("a", "b"), store.list().stream().map(SaeRecord::id).toList());
            SaeRecord back = store.record("a");
            assertEquals(record("a", 4, 8), back);
            assertEquals(0.9, back.toInfo(false).getTrainingMetrics().getVarianceExplained());
            assertEquals(1000L, back.toInfo(false).getTrainingMetrics().getTrainTokens());
            try (SaeStore.Lease lease = store.acquire("a")) {
                assertArrayEquals(weights(4, 8, 2).wDec(), lease.sae().weights().wDec());
            }
            StatusRuntimeException dup = assertThrows(StatusRuntimeException.class, () -> store.save(record("a", 4, 8), weights(4, 8, 3), null, false));
            assertEquals(Status.Code.ALREADY_EXISTS, dup.getStatus().getCode());
            store.save(record("a", 4, 8), weights(4, 8, 3), null, true);
            try (SaeStore.Lease lease = store.acquire("a")) {
                assertArrayEquals(weights(4, 8, 3).wDec(), lease.sae().weights().wDec(), "an overwrite is seen at once");
            }
        }
    }

    @Test
    void aWriterThatFailsLeavesNothingAndLeftoversAreRemovedAtStart(@TempDir Path dir) throws Exception {
        try (SaeStore store = new SaeStore(dir, 2)) {
            assertThrows(IOException.class, () -> store.create("broken", false, tmp -> {
                Files.writeString(tmp.resolve("cfg.json"), "{}");
                throw new IOException("disk full");
            }));
            assertFalse(store.exists("broken"));
            try (var s = Files.list(dir)) {
                assertEquals(0, s.count(), "the temporary directory is gone");
            }
            assertThrows(IOException.class, () -> store.create("incomplete", false, tmp -> Files.writeString(tmp.resolve("cfg.json"), "{}")));
            assertFalse(Files.exists(dir.resolve("incomplete")));
        }
        // a crash mid-write leaves a .tmp directory: the next start removes it
        Files.createDirectories(dir.resolve(".tmp-x-123"));
        Files.writeString(dir.resolve(".tmp-x-123/cfg.json"), "{}");
        Files.createDirectories(dir.resolve(".trash-y-456"));
        try (SaeStore store = new SaeStore(dir, 2)) {
            assertFalse(Files.exists(dir.resolve(".tmp-x-123")));
            assertFalse(Files.exists(dir.resolve(".trash-y-456")));
            assertEquals(List.of(), store.list());
        }
    }

    @Test
    void anSaeInUseIsNotClosedWhenEvicted(@TempDir Path dir) throws Exception {
        try (SaeStore store = new SaeStore(dir, 1)) {
            store.save(record("one", 4, 8), weights(4, 8, 1), null, false);
            store.save(record("two", 4, 8), weights(4, 8, 2), null, false);
            try (SaeStore.Lease first = store.acquire("one")) {
                try (SaeStore.Lease second = store.acquire("two")) { // evicts "one" from the cache (max 1)
                    assertEquals(1, store.loadedCount());
                    float[] f = first.sae().encode(new float[]{1, 2, 3, 4}, 1); // still usable
                    assertEquals(8, f.length);
                    assertEquals(8, second.sae().encode(new float[]{1, 2, 3, 4}, 1).length);
                }
            }
            store.delete("two");
            assertEquals(0, store.loadedCount());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> store.acquire("two"));
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        }
    }

    @Test
    void statisticsRoundTrip(@TempDir Path dir) throws Exception {
        try (SaeStore store = new SaeStore(dir, 2)) {
            store.save(record("s", 4, 3), weights(4, 3, 1), null, false);
            assertNull(store.stats("s"));
            FeatureStatsData stats = new FeatureStatsData(100, "dataset:x", Instant.parse("2025-05-05T00:00:00Z"),
                    new float[]{0.1f, 0, 0.5f}, new float[]{0.2f, 0, 1f}, new float[]{2f, 0, 2f}, new float[]{3f, 0, 4f},
                    new float[]{0, 0, 7f}, new int[]{2}, Map.of(0, List.of(new TopContext(3, 4, 3f, "a [[b]] c", "b"))));
            store.saveStats("s", stats);
            assertTrue(store.hasStats("s"));
            try (SaeStore fresh = new SaeStore(dir, 2)) {
                FeatureStatsData back = fresh.stats("s");
                assertEquals(100, back.tokens());
                assertArrayEquals(stats.density(), back.density());
                assertArrayEquals(stats.bosActivation(), back.bosActivation());
                assertArrayEquals(new int[]{2}, back.bosFeatures());
                assertEquals(stats.topContexts(), back.topContexts());
                assertEquals(1.0 / 3, back.deadFraction(), 1e-9);
                assertEquals(0.6, back.l0(), 1e-6);
            }
        }
    }
}
