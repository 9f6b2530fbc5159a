package steering.vector.grpc;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import steering.v1.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The SmolLM2-135M-Instruct CPU-budget protocol of docs/vector-service.md: an SAE trained through sae-service on the
 * model's own activations, then an SAE-TS effect approximator trained through vector-service, with the figures
 * printed. A measurement, not part of the suite: {@code scripts/vector/smollm2-protocol.sh} runs {@link #main} from a
 * copy of the test classpath (so that other builds replacing jars in ~/.m2 cannot pull classes from under a run of
 * half an hour); {@code -Dsteering.vector.protocol=true} runs it as a test. The SAE is kept in
 * {@code steering.vector.protocol.dir} (default ~/.cache/steering-mesh/protocol) and reused by later runs.
 */
public class SmolLM2ProtocolTest {
    public static void main(String[] args) throws Exception {
        System.setProperty("steering.vector.protocol", "true");
        new SmolLM2ProtocolTest().protocol();
        System.exit(0);
    }

    static final String HOOK = "blocks.15.hook_resid_post";
    static final String SAE = "smollm2-l15-2304";

    @Test
    public void protocol() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("steering.vector.protocol"), "set -Dsteering.vector.protocol=true to run the protocol");
        String cache = System.getenv().getOrDefault("STEERING_CACHE", System.getProperty("user.home") + "/.cache/steering-mesh");
        Path model = Path.of(cache, "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(model), "SmolLM2 not cached: run scripts/fetch-model.sh");
        Path dir = Path.of(System.getProperty("steering.vector.protocol.dir", cache + "/protocol"));
        TestMesh mesh = new TestMesh(model, 512, 8, dir, false);
        try {
            boolean have = mesh.saes().listSaes(ListSaesRequest.getDefaultInstance()).getSaesList().stream().anyMatch(s -> s.getId().equals(SAE));
            if (!have) {
                long t0 = System.nanoTime();
                Operation op = mesh.saes().startTrainSae(TrainSaeRequest.newBuilder().setSaeId(SAE).setHook(HookPoint.newBuilder().setName(HOOK))
                        .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(150))
                        .addCorpus(CorpusSource.newBuilder().setDataset("wikitext103-1000").setMaxDocuments(150))
                        .setDSae(2304).setK(32).setBatchSize(1024).setEpochs(4).setContextSize(128).setMaxTokens(40_000)
                        .setSplicedLossWindows(8).setTopContexts(5).setSeed(1).build());
                Operation done = TestMesh.await(SaeServiceGrpc.newBlockingStub(mesh.saeChannel).withDeadlineAfter(3, TimeUnit.HOURS)
                        .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build()));
                assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
                System.out.printf(Locale.ROOT, "SAE %s trained in %.0f s: %s%n", SAE, (System.nanoTime() - t0) / 1e9,
                        done.getResult().unpack(TrainSaeResult.class).getMetrics());
            }
            String id = "smollm2-effects-" + System.currentTimeMillis();
            TrainEffectApproximatorRequest request = TrainEffectApproximatorRequest.newBuilder()
                    .setApproximatorId(id).setSaeId(SAE)
                    .setDecoderDirections(Integer.getInteger("steering.vector.protocol.decoder", 128))
                    .setMixtureDirections(Integer.getInteger("steering.vector.protocol.mixtures", 64))
                    .setRandomDirections(0)
                    .addAllPrompts(List.of("I think", "Breaking news", "Last night", "The weather", "It's interesting that", "New study suggests"))
                    .setSamplesPerPrompt(1).setBaselineSamplesPerPrompt(10).setSequenceLength(32)
                    .setLossDataset("wikitext103-1000").setLossChunks(2).setLossChunkTokens(32).setTargetLossIncrease(1.0)
                    .setSeed(1).build();
            long t0 = System.nanoTime();
            Operation op = mesh.vectors().startTrainEffectApproximator(request);
            java.util.Iterator<Operation> it = VectorServiceGrpc.newBlockingStub(mesh.vectorChannel).withDeadlineAfter(5, TimeUnit.HOURS)
                    .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
            Operation done = null;
            long lastPrint = 0;
            while (it.hasNext()) {
                done = it.next();
                if (System.nanoTime() - lastPrint > 60e9) {
                    lastPrint = System.nanoTime();
                    System.out.printf(Locale.ROOT, "[%4.0f s] %.3f %s%n", (lastPrint - t0) / 1e9, done.getProgress(), done.getMessage());
                }
            }
            assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
            EffectApproximatorInfo a = done.getResult().unpack(EffectApproximatorInfo.class);
            System.out.printf(Locale.ROOT, "approximator %s in %.0f s:%n%s%n", id, (System.nanoTime() - t0) / 1e9, a.getMetrics());

            // one use: SAE-TS and decoder steering for the top FGAA feature of a contrast, measured on generated text
            SteeringVector fgaa = mesh.vectors().buildVector(BuildVectorRequest.newBuilder().setVectorId(id + "-fgaa-wedding").setFgaa(FgaaRecipe.newBuilder()
                    .setApproximatorId(id).setMaxDensity(0.05).setNPos(5)
                    .addPositive("The bride and groom said their vows at the wedding.").addPositive("They got married in June and the wedding was lovely.")
                    .addPositive("The wedding cake had five tiers.").addPositive("Her wedding dress was white.")
                    .addNegative("The car would not start this morning.").addNegative("He fixed the roof before the rain.")
                    .addNegative("The report is due on Friday.").addNegative("She went for a run in the park."))
                    .build()).getVector();
            System.out.println("FGAA wedding features " + fgaa.getFeaturesList().stream().map(f -> f.getFeature() + ":" + String.format(Locale.ROOT, "%.3f", f.getWeight())).toList());
        } finally {
            mesh.close();
        }
    }
}
