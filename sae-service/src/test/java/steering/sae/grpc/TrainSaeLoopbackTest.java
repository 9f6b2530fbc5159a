package steering.sae.grpc;

import io.grpc.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.tensor.TensorCodec;
import steering.sae.core.RefMath;
import steering.sae.core.SaeFiles;
import steering.sae.core.SaeLoaders;
import steering.common.client.ModelClient;
import steering.v1.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.sae.grpc.SaeServiceLoopbackTest.assertStatus;

/**
 * TrainSae end to end on the real stories260K model: sae-service pulls activations from a real model-service over
 * loopback gRPC, trains with DJL autograd, evaluates, stores; then the stored SAE is used through the other RPCs
 * and its answers are checked against activations captured here directly and encoded with plain loops.
 */
class TrainSaeLoopbackTest {
    static final String HOOK = "blocks.2.hook_resid_post";
    @TempDir
    static Path dataDir;
    static LoopbackMesh mesh;
    static List<Operation> updates = new ArrayList<>();
    static Operation finished;
    static TrainSaeResult result;

    @BeforeAll
    static void train() throws Exception {
        mesh = new LoopbackMesh(dataDir.resolve("saes"));
        Operation op = mesh.blocking().startTrainSae(TrainSaeRequest.newBuilder()
                .setSaeId("stories").setHook(HookPoint.newBuilder().setName(HOOK))
                .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(60))
                .addCorpus(CorpusSource.newBuilder().setDataset("wikitext103-1000").setMaxDocuments(10))
                .setDSae(256).setK(8).setBatchSize(256).setEpochs(8).setSplicedLossWindows(8).setTopContexts(5).setSeed(1)
                .build());
        assertEquals("TrainSae", op.getKind());
        Iterator<Operation> it = mesh.blocking().withDeadlineAfter(300, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        while (it.hasNext()) updates.add(it.next());
        finished = updates.get(updates.size() - 1);
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, finished.getState(), finished.getError().getMessage());
        result = finished.getResult().unpack(TrainSaeResult.class);
    }

    @AfterAll
    static void stop() throws Exception {
        mesh.close();
    }

    @Test
    void trainingReportsProgressAndReachesItsFigures() {
        assertTrue(updates.size() > 10, "the watch streamed " + updates.size() + " updates");
        assertTrue(updates.stream().anyMatch(o -> o.getMessage().startsWith("capturing activations")));
        assertTrue(updates.stream().anyMatch(o -> o.getMessage().startsWith("training: step") && o.containsMetrics("fvu")));
        double last = -1;
        for (Operation o : updates) {
            assertTrue(o.getProgress() >= last, "progress only grows");
            last = o.getProgress();
        }
        SaeTrainingMetrics m = result.getMetrics();
        assertTrue(m.getVarianceExplained() >= 0.8, "variance explained " + m.getVarianceExplained());
        assertTrue(m.getOutlierTokens() >= 0 && m.getOutlierTokens() < 100, "outlier tokens " + m.getOutlierTokens());
        if (m.getOutlierTokens() == 0) assertEquals(m.getVarianceExplained(), m.getVarianceExplainedAllTokens(), 1e-12);
        assertTrue(m.getDeadFraction() < 0.1, "dead fraction " + m.getDeadFraction());
        assertTrue(m.getL0() > 7 && m.getL0() <= 8.0001, "L0 " + m.getL0());
        assertTrue(m.getCleanLoss() > 0.5 && m.getCleanLoss() < 6, "clean loss " + m.getCleanLoss());
        assertTrue(m.getSplicedLoss() > m.getCleanLoss(), "splicing in a reconstruction costs something");
        assertTrue(m.getMeanAblationLoss() > m.getSplicedLoss(), "the SAE beats mean ablation");
        double recovered = (m.getMeanAblationLoss() - m.getSplicedLoss()) / (m.getMeanAblationLoss() - m.getCleanLoss());
        assertTrue(recovered > 0.7, "loss recovered " + recovered);
        assertEquals(m.getSplicedLoss() - m.getCleanLoss(), m.getLossIncrease(), 1e-9);
        assertTrue(m.getSplicedLossTokens() >= 16);
        assertTrue(m.getCaptureTokensPerSecond() > 0 && m.getTrainTokensPerSecond() > 0 && m.getWallSeconds() > 0);
        assertTrue(m.getTrainTokens() >= m.getEvalTokens());
        assertEquals("stories", result.getSae().getId());
        assertEquals(SaeArchitecture.SAE_ARCHITECTURE_TOPK, result.getSae().getArchitecture());
        assertTrue(result.getSae().getHasFeatureStats());
    }

    @Test
    void theSaeIsStoredInSaeLensLayoutWithItsSidecar() throws Exception {
        Path dir = dataDir.resolve("saes/stories");
        SaeFiles files = SaeLoaders.loadSaeLens(dir);
        assertEquals(64, files.config().dIn());
        assertEquals(256, files.config().dSae());
        assertEquals(8, files.config().k());
        assertEquals(HOOK, files.config().hookName());
        assertEquals("stories260K", files.config().modelId().replaceAll("[-_.].*", ""));
        String sidecar = Files.readString(dir.resolve("metadata.json"));
        assertTrue(sidecar.contains("dataset:tinystories-1000[:60] + dataset:wikitext103-1000[:10]"), sidecar);
        assertTrue(sidecar.contains("variance_explained"));
        assertTrue(Files.isRegularFile(dir.resolve("feature_stats.json")));
        SaeInfo listed = mesh.blocking().listSaes(ListSaesRequest.newBuilder().setHook(HOOK).build()).getSaesList().stream()
                .filter(i -> i.getId().equals("stories")).findFirst().orElseThrow();
        assertEquals(result.getMetrics(), listed.getTrainingMetrics());
        for (float n : floats(mesh.blocking().featureDirections(FeatureDirectionsRequest.newBuilder().setSaeId("stories").build()).getNormsList())) {
            assertEquals(1.0, n, 1e-3, "decoder rows are unit norm");
        }
    }

    @Test
    void encodingTextsEqualsEncodingTheCapturedActivationsWithPlainLoops() throws Exception {
        String text = "Tim and his dog went to the big park. They saw a red ball under a tree and played all day.";
        ModelClient model = mesh.modelClient;
        ModelClient.Captured cap = model.capturePerToken(List.of(Prompt.newBuilder().setText(text).build()), HOOK, true).get(0);
        int rows = cap.positions().length;
        SaeFiles files = SaeLoaders.loadSaeLens(dataDir.resolve("saes/stories"));
        float[] expected = RefMath.encode(files.config(), files.weights(), cap.rows(), rows);

        EncodeResponse r = mesh.blocking().encode(EncodeRequest.newBuilder().setSaeId("stories")
                .setInput(SaeInput.newBuilder().setTexts(TextInputs.newBuilder().addPrompts(Prompt.newBuilder().setText(text)))).build());
        assertEquals(rows, r.getRows());
        assertEquals(rows, r.getTexts(0).getRowCount());
        assertEquals(cap.positions()[0], r.getTexts(0).getPositions(0), "BOS is left out");
        steering.sae.core.SaeFixturesTest.assertClose(expected, TensorCodec.toFloats(r.getFeatures()), "texts encode");

        // the held-out text is reconstructed well (computed here with plain loops)
        float[] recon = RefMath.reconstruct(files.config(), files.weights(), cap.rows(), rows);
        double[] mean = new double[64];
        for (int t = 0; t < rows; t++) for (int i = 0; i < 64; i++) mean[i] += cap.rows()[t * 64 + i] / rows;
        double err = 0, var = 0;
        for (int k = 0; k < rows * 64; k++) {
            err += Math.pow(cap.rows()[k] - recon[k], 2);
            var += Math.pow(cap.rows()[k] - mean[k % 64], 2);
        }
        assertTrue(1 - err / var > 0.7, "variance explained on a new text " + (1 - err / var));

        EncodeResponse mean2 = mesh.blocking().encode(EncodeRequest.newBuilder().setSaeId("stories").setReduction(FeatureReduction.FEATURE_REDUCTION_MEAN)
                .setInput(SaeInput.newBuilder().setTexts(TextInputs.newBuilder().addPrompts(Prompt.newBuilder().setText(text))
                        .addPrompts(Prompt.newBuilder().setText("The sun was hot.")))).build());
        assertEquals(2, mean2.getRows());
        float[] mv = TensorCodec.toFloats(mean2.getFeatures());
        for (int j = 0; j < 256; j++) {
            double s = 0;
            for (int t = 0; t < rows; t++) s += expected[t * 256 + j];
            assertEquals(s / rows, mv[j], 1e-4 * Math.max(1, Math.abs(s / rows)));
        }
    }

    @Test
    void featureStatsDescribeTheTrainingCorpus() {
        FeatureStatsResponse all = mesh.blocking().featureStats(FeatureStatsRequest.newBuilder().setSaeId("stories").build());
        float[] density = TensorCodec.toFloats(all.getDensity());
        assertEquals(256, density.length);
        double l0 = 0;
        int dead = 0;
        for (float d : density) {
            l0 += d;
            if (d == 0) dead++;
            assertTrue(d >= 0 && d <= 1);
        }
        assertTrue(l0 > 7 && l0 <= 8.0001, "sum of densities = mean L0 = " + l0);
        assertEquals(result.getMetrics().getDeadFraction(), dead / 256.0, 1e-9);
        assertTrue(all.getTokens() > 10_000);
        assertEquals(0, all.getFeaturesCount(), "no per-feature list unless asked for");

        int f = 0;
        while (density[f] == 0) f++;
        FeatureStatsResponse one = mesh.blocking().featureStats(FeatureStatsRequest.newBuilder().setSaeId("stories").addFeatures(f).build());
        FeatureStat s = one.getFeatures(0);
        assertEquals(density[f], s.getDensity(), 1e-7);
        assertEquals(5, s.getTopContextsCount());
        assertEquals(s.getMaxActivation(), s.getTopContexts(0).getActivation(), 1e-6);
        for (int i = 0; i < 5; i++) {
            TopContext c = s.getTopContexts(i);
            assertTrue(c.getText().contains("[[" + c.getToken() + "]]"), c.getText());
            if (i > 0) assertTrue(s.getTopContexts(i - 1).getActivation() >= c.getActivation());
        }
        assertTrue(s.getMeanActiveActivation() >= s.getMeanActivation());
        assertStatus(Status.Code.INVALID_ARGUMENT, "features[0]", () -> mesh.blocking().featureStats(
                FeatureStatsRequest.newBuilder().setSaeId("stories").addFeatures(256).build()));
    }

    @Test
    void searchFeaturesRanksTheMeanActivationsOfTheText() {
        String text = "Once upon a time, there was a little girl named Lily.";
        SearchFeaturesResponse r = mesh.blocking().searchFeatures(SearchFeaturesRequest.newBuilder().setSaeId("stories")
                .setPrompt(Prompt.newBuilder().setText(text)).setTopK(5).build());
        assertTrue(r.getHasFeatureStats());
        assertEquals(5, r.getHitsCount());
        EncodeResponse per = mesh.blocking().encode(EncodeRequest.newBuilder().setSaeId("stories")
                .setInput(SaeInput.newBuilder().setTexts(TextInputs.newBuilder().addPrompts(Prompt.newBuilder().setText(text)))).build());
        float[] f = TensorCodec.toFloats(per.getFeatures());
        int rows = per.getRows();
        float[] mean = new float[256];
        for (int j = 0; j < 256; j++) {
            double s = 0;
            for (int t = 0; t < rows; t++) s += f[t * 256 + j];
            mean[j] = (float) (s / rows);
        }
        float[] sorted = mean.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 0; i < 5; i++) {
            SearchFeatureHit h = r.getHits(i);
            assertEquals(mean[h.getFeature()], h.getActivation(), 1e-5);
            assertEquals(sorted[255 - i], h.getActivation(), 1e-5);
            assertTrue(h.getStat().getTopContextsCount() > 0);
            assertEquals(r.getTokens(h.getMaxPosition()), h.getMaxToken());
        }
        SearchFeaturesResponse filtered = mesh.blocking().searchFeatures(SearchFeaturesRequest.newBuilder().setSaeId("stories")
                .setPrompt(Prompt.newBuilder().setText(text)).setTopK(20).setMaxDensity(0.01).setExcludeBosFeatures(true).build());
        for (SearchFeatureHit h : filtered.getHitsList()) {
            assertTrue(h.getStat().getDensity() <= 0.01);
            assertEquals(0f, h.getStat().getBosActivation());
        }
        assertStatus(Status.Code.INVALID_ARGUMENT, "max_density", () -> mesh.blocking().searchFeatures(SearchFeaturesRequest.newBuilder()
                .setSaeId("stories").setPrompt(Prompt.newBuilder().setText(text)).setMaxDensity(1.5).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "prompt", () -> mesh.blocking().searchFeatures(SearchFeaturesRequest.newBuilder()
                .setSaeId("stories").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "prompt.tokens.ids[0]", () -> mesh.blocking().searchFeatures(SearchFeaturesRequest.newBuilder()
                .setSaeId("stories").setPrompt(Prompt.newBuilder().setTokens(TokenIds.newBuilder().addIds(99999))).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "input.texts.prompts[1]", () -> mesh.blocking().encode(EncodeRequest.newBuilder().setSaeId("stories")
                .setInput(SaeInput.newBuilder().setTexts(TextInputs.newBuilder().addPrompts(Prompt.newBuilder().setText("ok"))
                        .addPrompts(Prompt.newBuilder().setText("")))).build()));
    }

    @Test
    void computeFeatureStatsForAnImportedSae() throws Exception {
        SaeInfo copy = mesh.blocking().importSae(ImportSaeRequest.newBuilder().setSaeId("copy")
                .setPath(dataDir.resolve("saes/stories").toString()).build());
        assertFalse(copy.getHasFeatureStats());
        List<String> texts = List.of("The cat sat on the mat and looked at the bird.", "Ben had a big blue truck. He liked to push it.");
        Operation op = mesh.blocking().startComputeFeatureStats(ComputeFeatureStatsRequest.newBuilder().setSaeId("copy")
                .addCorpus(CorpusSource.newBuilder().setTexts(TextList.newBuilder().addAllTexts(texts))).setTopContexts(3).build());
        Operation done = await(op.getId());
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        FeatureStatsSummary sum = done.getResult().unpack(FeatureStatsSummary.class);
        long tokens = 0;
        for (String t : texts) tokens += mesh.modelClient.tokenize(t, false).length;
        assertEquals(tokens, sum.getTokens(), "every non-BOS token is counted");
        FeatureStatsResponse stats = mesh.blocking().featureStats(FeatureStatsRequest.newBuilder().setSaeId("copy").build());
        assertEquals(tokens, stats.getTokens());
        assertEquals("texts:2", stats.getCorpus());
        assertTrue(mesh.blocking().getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("copy").build()).getHasFeatureStats());
    }

    @Test
    void evaluateSaeReportsTheFiguresComputedHereWithPlainLoops() throws Exception {
        List<String> texts = List.of("Lily found a shiny stone in the garden. She showed it to her mom.",
                "The dog ran after the ball and jumped into the pond.", "It was a cold day, so Ben wore his big hat.");
        Operation op = mesh.blocking().startEvaluateSae(EvaluateSaeRequest.newBuilder().setSaeId("stories")
                .addCorpus(CorpusSource.newBuilder().setTexts(TextList.newBuilder().addAllTexts(texts)))
                .setMaxNormRatio(0).setSplicedLossWindows(3).setPositionsPerWindow(2).setSeed(3).build());
        assertEquals("EvaluateSae", op.getKind());
        Operation done = await(op.getId());
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        SaeTrainingMetrics m = done.getResult().unpack(SaeTrainingMetrics.class);

        SaeFiles files = SaeLoaders.loadSaeLens(dataDir.resolve("saes/stories"));
        List<float[]> rows = new ArrayList<>();
        for (String t : texts) {
            ModelClient.Captured c = mesh.modelClient.capturePerToken(List.of(Prompt.newBuilder().setText(t).build()), HOOK, true).get(0);
            for (int r = 0; r < c.positions().length; r++) rows.add(java.util.Arrays.copyOfRange(c.rows(), r * 64, r * 64 + 64));
        }
        int n = rows.size();
        float[] x = new float[n * 64];
        for (int r = 0; r < n; r++) System.arraycopy(rows.get(r), 0, x, r * 64, 64);
        float[] recon = RefMath.reconstruct(files.config(), files.weights(), x, n);
        float[] f = RefMath.encode(files.config(), files.weights(), x, n);
        double[] mean = new double[64];
        for (int k = 0; k < n * 64; k++) mean[k % 64] += x[k] / n;
        double err = 0, var = 0, l0 = 0;
        for (int k = 0; k < n * 64; k++) {
            err += Math.pow(x[k] - recon[k], 2);
            var += Math.pow(x[k] - mean[k % 64], 2);
        }
        for (float v : f) if (v > 0) l0++;
        assertEquals(n, m.getEvalTokens());
        assertEquals(1 - err / var, m.getVarianceExplained(), 1e-4);
        assertEquals(l0 / n, m.getL0(), 1e-9);
        assertEquals(0, m.getOutlierTokens());
        // per-token mode (model-service splices prompt positions only): 3 windows x 2 positions; full mode: every
        // prediction made after BOS, i.e. (tokens - 1) per window
        assertTrue(m.getSplicedLossTokens() == 6 || m.getSplicedLossTokens() == n - 3, "scored " + m.getSplicedLossTokens());
        assertTrue(m.getMeanAblationLoss() > m.getCleanLoss());
        assertTrue(m.getLossIncreaseStderr() >= 0);
        assertStatus(Status.Code.NOT_FOUND, null, () -> mesh.blocking().startEvaluateSae(EvaluateSaeRequest.newBuilder()
                .setSaeId("nope").addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000")).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "spliced_loss_windows", () -> mesh.blocking().startEvaluateSae(EvaluateSaeRequest.newBuilder()
                .setSaeId("stories").addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000")).setSplicedLossWindows(-1).build()));
    }

    @Test
    void textTheModelGeneratesIsACorpusToo() throws Exception {
        mesh.blocking().importSae(ImportSaeRequest.newBuilder().setSaeId("generated-copy")
                .setPath(dataDir.resolve("saes/stories").toString()).build());
        Operation op = mesh.blocking().startComputeFeatureStats(ComputeFeatureStatsRequest.newBuilder().setSaeId("generated-copy")
                .addCorpus(CorpusSource.newBuilder().setGenerated(GeneratedText.newBuilder().addPrompts("Once upon a time")
                        .setSamplesPerPrompt(2).setMaxTokens(24).setSeed(5))).build());
        Operation done = await(op.getId());
        assertEquals(OperationState.OPERATION_STATE_SUCCEEDED, done.getState(), done.getError().getMessage());
        FeatureStatsResponse stats = mesh.blocking().featureStats(FeatureStatsRequest.newBuilder().setSaeId("generated-copy").build());
        assertEquals("generated:1x2", stats.getCorpus());
        // two samples of "Once upon a time" + up to 24 new tokens each
        long prompt = mesh.modelClient.tokenize("Once upon a time", false).length;
        assertTrue(stats.getTokens() > 2 * prompt && stats.getTokens() <= 2 * (prompt + 24 + 2), "tokens " + stats.getTokens());
    }

    @Test
    void aCancelledTrainingLeavesNothingBehind() throws Exception {
        Operation op = mesh.blocking().startTrainSae(TrainSaeRequest.newBuilder().setSaeId("cancelled")
                .setHook(HookPoint.newBuilder().setName(HOOK))
                .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(10))
                .setDSae(128).setK(4).setBatchSize(64).setSteps(5_000_000).build());
        Iterator<Operation> it = mesh.blocking().withDeadlineAfter(120, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        Operation seen = null;
        while (it.hasNext()) {
            seen = it.next();
            if (seen.getMessage().startsWith("training: step")) break;
        }
        assertNotNull(seen);
        mesh.blocking().cancelOperation(CancelOperationRequest.newBuilder().setId(op.getId()).build());
        Operation done = await(op.getId());
        assertEquals(OperationState.OPERATION_STATE_CANCELLED, done.getState());
        assertStatus(Status.Code.NOT_FOUND, null, () -> mesh.blocking().getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("cancelled").build()));
        assertNoTemporaryDirectories();
    }

    @Test
    void aFailingTrainingLeavesNothingBehind() throws Exception {
        Operation op = mesh.blocking().startTrainSae(TrainSaeRequest.newBuilder().setSaeId("failed")
                .setHook(HookPoint.newBuilder().setName(HOOK))
                .addCorpus(CorpusSource.newBuilder().setTexts(TextList.newBuilder().addTexts("Hi.")))
                .setDSae(128).setK(4).build());
        Operation done = await(op.getId());
        assertEquals(OperationState.OPERATION_STATE_FAILED, done.getState());
        assertEquals(Status.Code.INVALID_ARGUMENT.value(), done.getError().getCode());
        assertTrue(done.getError().getMessage().contains("windows"), done.getError().getMessage());
        assertStatus(Status.Code.NOT_FOUND, null, () -> mesh.blocking().getSaeInfo(GetSaeInfoRequest.newBuilder().setSaeId("failed").build()));
        assertNoTemporaryDirectories();
    }

    @Test
    void badTrainingRequestsAreRefusedAtOnce() {
        var sae = mesh.blocking();
        TrainSaeRequest ok = TrainSaeRequest.newBuilder().setSaeId("bad").setHook(HookPoint.newBuilder().setName(HOOK))
                .addCorpus(CorpusSource.newBuilder().setDataset("tinystories-1000").setMaxDocuments(5)).setDSae(128).build();
        assertStatus(Status.Code.INVALID_ARGUMENT, "hook.name", () -> sae.startTrainSae(ok.toBuilder()
                .setHook(HookPoint.newBuilder().setName("blocks.9.hook_resid_post")).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "hook.name", () -> sae.startTrainSae(ok.toBuilder().clearHook().build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "k", () -> sae.startTrainSae(ok.toBuilder().setK(129).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "corpus", () -> sae.startTrainSae(ok.toBuilder().clearCorpus().build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "corpus[0].dataset", () -> sae.startTrainSae(ok.toBuilder().clearCorpus()
                .addCorpus(CorpusSource.newBuilder().setDataset("no-such-data")).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "corpus[0].path", () -> sae.startTrainSae(ok.toBuilder().clearCorpus()
                .addCorpus(CorpusSource.newBuilder().setPath(dataDir.resolve("missing.jsonl").toString())).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "architecture", () -> sae.startTrainSae(ok.toBuilder()
                .setArchitecture(SaeArchitecture.SAE_ARCHITECTURE_JUMPRELU).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "learning_rate", () -> sae.startTrainSae(ok.toBuilder().setLearningRate(Double.NaN).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "context_size", () -> sae.startTrainSae(ok.toBuilder().setContextSize(2).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "eval_fraction", () -> sae.startTrainSae(ok.toBuilder().setEvalFraction(0.9).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "max_norm_ratio", () -> sae.startTrainSae(ok.toBuilder().setMaxNormRatio(1.5).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "d_sae", () -> sae.startTrainSae(ok.toBuilder().setDSae(100_000_000).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "d_sae: -16 is outside", () -> sae.startTrainSae(ok.toBuilder().setDSae(-16).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "sae_id", () -> sae.startTrainSae(ok.toBuilder().setSaeId("a/b").build()));
        assertStatus(Status.Code.ALREADY_EXISTS, "sae_id", () -> sae.startTrainSae(ok.toBuilder().setSaeId("stories").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "corpus[0].generated.prompts", () -> sae.startTrainSae(ok.toBuilder().clearCorpus()
                .addCorpus(CorpusSource.newBuilder().setGenerated(GeneratedText.getDefaultInstance())).build()));
    }

    static Operation await(String id) {
        Iterator<Operation> it = mesh.blocking().withDeadlineAfter(120, TimeUnit.SECONDS)
                .watchOperation(WatchOperationRequest.newBuilder().setId(id).build());
        Operation last = null;
        while (it.hasNext()) last = it.next();
        return last;
    }

    static void assertNoTemporaryDirectories() throws Exception {
        try (var s = Files.list(dataDir.resolve("saes"))) {
            List<String> hidden = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertEquals(List.of(), hidden, "no temporary directories are left");
        }
    }

    static float[] floats(List<Float> l) {
        float[] out = new float[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = l.get(i);
        return out;
    }
}
