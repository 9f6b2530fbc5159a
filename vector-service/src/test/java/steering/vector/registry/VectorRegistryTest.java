package steering.vector.registry;

import com.google.protobuf.Timestamp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

class VectorRegistryTest {
    @TempDir
    Path dir;

    static SteeringVector vector(String id, float... data) {
        return SteeringVector.newBuilder().setId(id).setModelId("stories260K").setHook(HookPoint.newBuilder().setName("blocks.2.hook_resid_post"))
                .setMethod(VectorMethod.VECTOR_METHOD_CAA_MEAN).setVector(TensorCodec.ofFloats(data, data.length))
                .setPositions(PositionPolicy.ALL).setDefaultScale(1.0).setNorm(1.0)
                .setRecipe(BuildVectorRequest.newBuilder().setCaaMean(CaaMeanRecipe.newBuilder().addPositive("I love dogs").addNegative("I hate dogs")))
                .setCreatedAt(Timestamp.newBuilder().setSeconds(System.currentTimeMillis() / 1000))
                .build();
    }

    @Test
    void savesListsGetsAndDeletesWithTheFullSidecar() throws Exception {
        VectorRegistry reg = new VectorRegistry(dir);
        reg.save(vector("a", 1, 2, 3), false);
        reg.save(vector("b", 4, 5, 6).toBuilder().setCreatedAt(Timestamp.newBuilder().setSeconds(System.currentTimeMillis() / 1000 + 60)).build(), false);
        SteeringVector a = reg.get("a");
        assertArrayEquals(new float[]{1, 2, 3}, TensorCodec.toFloats(a.getVector()));
        assertEquals("blocks.2.hook_resid_post", a.getHook().getName());
        assertEquals("I love dogs", a.getRecipe().getCaaMean().getPositive(0));
        String sidecar = Files.readString(dir.resolve("a/metadata.json"));
        for (String s : List.of("\"model_id\": \"stories260K\"", "\"method\": \"VECTOR_METHOD_CAA_MEAN\"", "I hate dogs", "created_at", "\"norm\": 1.0")) {
            assertTrue(sidecar.contains(s), s + " in " + sidecar);
        }
        List<SteeringVector> all = reg.list(false);
        assertEquals(List.of("b", "a"), all.stream().map(SteeringVector::getId).toList(), "newest first");
        assertFalse(all.get(0).hasVector());
        assertTrue(reg.list(true).get(0).hasVector());
        assertThrows(ArtifactStore.AlreadyExistsException.class, () -> reg.save(vector("a", 9, 9, 9), false));
        assertArrayEquals(new float[]{1, 2, 3}, TensorCodec.toFloats(reg.get("a").getVector()), "a refused save changes nothing");
        reg.save(vector("a", 9, 9, 9), true);
        assertArrayEquals(new float[]{9, 9, 9}, TensorCodec.toFloats(reg.get("a").getVector()));
        SteeringVector cal = reg.setCalibration("a", VectorCalibration.newBuilder().setBestScale(6.5).build());
        assertEquals(6.5, cal.getDefaultScale());
        assertEquals(6.5, reg.get("a").getCalibration().getBestScale());
        assertArrayEquals(new float[]{9, 9, 9}, TensorCodec.toFloats(reg.get("a").getVector()));
        assertNull(reg.setCalibration("nope", VectorCalibration.getDefaultInstance()));
        assertTrue(reg.delete("a"));
        assertFalse(reg.delete("a"));
        assertNull(reg.get("a"));
        assertNull(reg.get("../b"));
        assertEquals(List.of("b"), reg.list(false).stream().map(SteeringVector::getId).toList());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("b"), s.map(p -> p.getFileName().toString()).toList(), "nothing else is left behind");
        }
    }

    @Test
    void aVectorBeingWrittenIsNotListedUntilBothFilesAreCommitted() throws Exception {
        ArtifactStore store = new ArtifactStore(dir);
        CountDownLatch halfWritten = new CountDownLatch(1), resume = new CountDownLatch(1);
        Thread writer = new Thread(() -> {
            try {
                store.commit("x", new java.util.LinkedHashMap<>(Map.of(
                        "one", (ArtifactStore.FileBody) f -> {
                            Files.writeString(f, "first");
                            halfWritten.countDown();
                            try {
                                resume.await();
                            } catch (InterruptedException e) {
                                throw new java.io.IOException(e);
                            }
                        })), false);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        writer.start();
        assertTrue(halfWritten.await(10, TimeUnit.SECONDS));
        assertEquals(List.of(), store.ids(), "a half-written artifact is invisible");
        assertNull(store.dir("x"));
        resume.countDown();
        writer.join(10_000);
        assertEquals(List.of("x"), store.ids());
        assertEquals("first", Files.readString(store.dir("x").resolve("one")));
    }

    @Test
    void leftoversOfACrashAreCleanedOrRestoredAtStart() throws Exception {
        VectorRegistry reg = new VectorRegistry(dir);
        reg.save(vector("kept", 1, 1), false);
        // a crash mid-write leaves a staging directory with part of the files
        Path staging = Files.createDirectory(dir.resolve(".staging-new-00000000-0000-0000-0000-000000000000"));
        Files.writeString(staging.resolve(VectorRegistry.METADATA_FILE), "{\"id\": \"new\"");
        // a crash between the two renames of a replacement leaves the old version aside and no live directory
        reg.save(vector("old", 7, 7), false);
        Files.move(dir.resolve("old"), dir.resolve(".replaced-old-11111111-1111-1111-1111-111111111111"));
        // a crash mid-delete leaves a renamed directory
        reg.save(vector("gone", 3, 3), false);
        Files.move(dir.resolve("gone"), dir.resolve(".deleted-gone-22222222-2222-2222-2222-222222222222"));
        assertEquals(List.of("kept"), reg.list(false).stream().map(SteeringVector::getId).toList());

        VectorRegistry again = new VectorRegistry(dir);
        assertEquals(List.of("kept", "old"), again.list(false).stream().map(SteeringVector::getId).sorted().toList());
        assertArrayEquals(new float[]{7, 7}, TensorCodec.toFloats(again.get("old").getVector()), "the old version is back");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("kept", "old"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    /**
     * A real crash: a child JVM saves, replaces and deletes vectors in a loop and is killed (SIGKILL) at a random
     * moment, five times. After each kill a fresh registry must list only whole vectors: every listed vector loads,
     * and all its elements equal the value recorded in its own metadata.
     */
    @Test
    void killingTheWriterAtRandomMomentsNeverLeavesATornVector() throws Exception {
        Random rnd = new Random(11);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int seen = 0;
        for (int round = 0; round < 5; round++) {
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), CrashWriter.class.getName(), dir.toString())
                    .redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
            assertEquals("ready", out.readLine(), "the writer started");
            // wait for a few commits, then kill at a random moment
            for (int k = 0; k < 3 + rnd.nextInt(4); k++) assertNotNull(out.readLine(), "the writer is running");
            Thread.sleep(rnd.nextInt(40));
            p.destroyForcibly();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            VectorRegistry reg = new VectorRegistry(dir);
            for (SteeringVector meta : reg.list(false)) {
                SteeringVector v = reg.get(meta.getId());
                assertNotNull(v, meta.getId());
                float value = Float.parseFloat(v.getLabelsOrThrow("value"));
                float[] data = TensorCodec.toFloats(v.getVector());
                assertEquals(CrashWriter.D, data.length);
                for (float x : data) assertEquals(value, x, 0, "vector " + v.getId() + " is whole");
                seen++;
            }
            try (Stream<Path> s = Files.list(dir)) {
                assertTrue(s.noneMatch(q -> q.getFileName().toString().startsWith(".")), "recovery removed every leftover");
            }
        }
        assertTrue(seen > 0, "the writer got some vectors written");
    }
}
