package steering.vector.grpc;

import steering.common.grpc.ChannelFactory;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.ops.OperationRegistry;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.Datasets;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.vector.grpc.Effects.assertStatus;

/** Bad input is INVALID_ARGUMENT naming the field and the allowed range; unknown ids NOT_FOUND; a dependency down UNAVAILABLE. */
class BadInputLoopbackTest {
    static TestMesh mesh;
    static VectorServiceGrpc.VectorServiceBlockingStub v;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        mesh = TestMesh.get();
        v = mesh.vectors();
    }

    static HookPoint hook(String name) {
        return HookPoint.newBuilder().setName(name).build();
    }

    static void build(BuildVectorRequest.Builder b, String... fragments) {
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.buildVector(b.setSave(false).build()), fragments);
    }

    @Test
    void recipesWithMissingOrOutOfRangeFieldsAreRefused() {
        build(BuildVectorRequest.newBuilder(), "recipe");
        build(BuildVectorRequest.newBuilder().setVectorId("../x").setCaaMean(CaaMeanRecipe.newBuilder()), "vector_id");
        // empty example sets
        build(BuildVectorRequest.newBuilder().setCaaMean(CaaMeanRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post")).addNegative("a")),
                "caa_mean.positive", "at least one");
        build(BuildVectorRequest.newBuilder().setCaaMean(CaaMeanRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post")).addPositive("a")),
                "caa_mean.negative");
        build(BuildVectorRequest.newBuilder().setCaa(CaaRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post"))), "caa.items", "at least one");
        build(BuildVectorRequest.newBuilder().setActadd(ActAddRecipe.newBuilder().setHook(hook("blocks.1.hook_resid_pre"))), "actadd.positive");
        build(BuildVectorRequest.newBuilder().setFgaa(FgaaRecipe.newBuilder()), "fgaa.approximator_id");
        // hooks
        build(BuildVectorRequest.newBuilder().setActadd(ActAddRecipe.newBuilder().setHook(hook("blocks.9.hook_resid_pre")).setPositive("a")),
                "actadd.hook.name", "blocks.{0..4}");
        build(BuildVectorRequest.newBuilder().setCaaMean(CaaMeanRecipe.newBuilder().addPositive("a").addNegative("b")), "caa_mean.hook.name");
        // ranges
        build(BuildVectorRequest.newBuilder().setActadd(ActAddRecipe.newBuilder().setHook(hook("blocks.1.hook_resid_pre")).setPositive("a").setPadTokenId(512)),
                "actadd.pad_token_id", "[0, 511]");
        build(BuildVectorRequest.newBuilder().setActadd(ActAddRecipe.newBuilder().setHook(hook("blocks.1.hook_resid_pre")).setPositive("a").setCoefficient(Double.NaN)),
                "actadd.coefficient");
        build(BuildVectorRequest.newBuilder().setCaa(CaaRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post"))
                .addItems(AbItem.newBuilder().setQuestion("q").setAnswerMatchingBehavior("(A)").setAnswerNotMatchingBehavior("(B)"))
                .setPromptTemplate("no placeholders")), "caa.prompt_template", "{question}");
        build(BuildVectorRequest.newBuilder().setCaa(CaaRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post"))
                .addItems(AbItem.newBuilder().setQuestion("q").setAnswerMatchingBehavior("").setAnswerNotMatchingBehavior("(B)"))),
                "caa.items[0].answer_matching_behavior");
        build(BuildVectorRequest.newBuilder().setCaa(CaaRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post")).setDataset("../../etc/passwd")),
                "caa.dataset", "inside the dataset directory");
        build(BuildVectorRequest.newBuilder().setCaa(CaaRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post")).setDataset("no-such.jsonl")),
                "caa.dataset");
        // some survival-instinct questions are longer than stories260K's 512-token context
        build(BuildVectorRequest.newBuilder().setCaa(CaaRecipe.newBuilder().setHook(hook("blocks.2.hook_resid_post"))
                .setDataset(ActAddCaaLoopbackTest.SURVIVAL).setMaxItems(400)), "caa.dataset item ", "tokens, the limit is 512", "lower max_items");
        // raw vectors
        build(BuildVectorRequest.newBuilder().setRaw(RawVectorRecipe.newBuilder().setHook(hook("blocks.1.hook_resid_post"))
                .setVector(TensorCodec.ofFloats(new float[65], 65))), "raw.vector", "d_model 64");
        float[] nan = new float[64];
        nan[3] = Float.NaN;
        build(BuildVectorRequest.newBuilder().setRaw(RawVectorRecipe.newBuilder().setHook(hook("blocks.1.hook_resid_post"))
                .setVector(TensorCodec.ofFloats(nan, 64))), "raw.vector", "element 3");
        build(BuildVectorRequest.newBuilder().setRaw(RawVectorRecipe.newBuilder().setHook(hook("blocks.1.hook_resid_post"))
                .setVector(TensorCodec.ofFloats(new float[128], 2, 64))), "raw.vector", "PROMPT_FRONT");
        build(BuildVectorRequest.newBuilder().setRaw(RawVectorRecipe.newBuilder().setHook(hook("blocks.1.hook_resid_post"))), "raw.vector");
    }

    @Test
    void saeReferencesMustExistAndBelongToTheModel() throws Exception {
        mesh.sae();
        build(BuildVectorRequest.newBuilder().setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId("no-such-sae")
                .addFeatures(WeightedFeature.newBuilder().setFeature(1).setWeight(1))), "sae_decoder.sae_id", "unknown SAE 'no-such-sae'");
        build(BuildVectorRequest.newBuilder().setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID)), "sae_decoder.features", "[0, 255]");
        build(BuildVectorRequest.newBuilder().setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID)
                .addFeatures(WeightedFeature.newBuilder().setFeature(256).setWeight(1))), "sae_decoder.features[0].feature", "[0, 255]");
        build(BuildVectorRequest.newBuilder().setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(TestMesh.SAE_ID)
                .addFeatures(WeightedFeature.newBuilder().setFeature(3).setWeight(0))), "sae_decoder.features", "non-zero");
        // the same SAE registered for another model: a vector for this model cannot be built from it
        mesh.saes().importSae(ImportSaeRequest.newBuilder().setSaeId("foreign-sae").setModelId("another-model")
                .setPath(mesh.dir.resolve("saes").resolve(TestMesh.SAE_ID).toString()).build());
        build(BuildVectorRequest.newBuilder().setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId("foreign-sae")
                .addFeatures(WeightedFeature.newBuilder().setFeature(3).setWeight(1))), "sae_decoder.sae_id", "another-model", "stories260K");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.startTrainEffectApproximator(TrainEffectApproximatorRequest.newBuilder()
                .setSaeId("foreign-sae").build()), "sae_id", "another-model");
        build(BuildVectorRequest.newBuilder().setSaeTs(SaeTsRecipe.newBuilder().setApproximatorId("no-such")
                .addTargets(WeightedFeature.newBuilder().setFeature(1).setWeight(1))), "sae_ts.approximator_id", "unknown effect approximator");
    }

    @Test
    void fgaaNeedsAtLeastOneFeatureAndItsApproximatorsSae() throws Exception {
        EffectApproximatorInfo a = mesh.approximator();
        FgaaRecipe.Builder ok = FgaaRecipe.newBuilder().setApproximatorId(a.getId()).addPositive("The dog ran.").addNegative("The cat sat.");
        build(BuildVectorRequest.newBuilder().setFgaa(ok.clone().setNPos(0).setNNeg(0)), "fgaa.n_pos", "n_pos + n_neg = 0");
        build(BuildVectorRequest.newBuilder().setFgaa(ok.clone().setNPos(-1)), "fgaa.n_pos", "[0, 256]");
        build(BuildVectorRequest.newBuilder().setFgaa(ok.clone().setMaxDensity(0)), "fgaa.max_density", "(0, 1]");
        build(BuildVectorRequest.newBuilder().setFgaa(ok.clone().clearPositive()), "fgaa.positive", "at least one");
        build(BuildVectorRequest.newBuilder().setFgaa(ok.clone().setSaeId("foreign-sae")), "fgaa.sae_id", "approximator's SAE");
        build(BuildVectorRequest.newBuilder().setFgaa(ok.clone().addExcludeFeatures(999)), "fgaa.exclude_features[0]", "[0, 255]");
        // a threshold nothing passes
        build(BuildVectorRequest.newBuilder().setFgaa(ok.clone().setMaxDensity(1e-9)), "fgaa.max_density", "no feature is left");
        build(BuildVectorRequest.newBuilder().setSaeTs(SaeTsRecipe.newBuilder().setApproximatorId(a.getId())
                .addTargets(WeightedFeature.newBuilder().setFeature(300).setWeight(1))), "sae_ts.targets[0].feature", "[0, 255]");
        build(BuildVectorRequest.newBuilder().setSaeTs(SaeTsRecipe.newBuilder().setApproximatorId(a.getId()).setBiasScale(Double.POSITIVE_INFINITY)
                .addTargets(WeightedFeature.newBuilder().setFeature(3).setWeight(1))), "sae_ts.bias_scale");
    }

    @Test
    void approximatorRequestsAreCheckedBeforeTheOperationStarts() throws Exception {
        mesh.sae();
        TrainEffectApproximatorRequest.Builder ok = TestMesh.approximatorRequest().setApproximatorId("bad");
        String[][] cases = {
                {"decoder_directions", "[0, 256]"}, {"samples_per_prompt", "[1, 64]"}, {"sequence_length", "[4, "},
                {"target_loss_increase", "(0, 10]"}, {"validation_fraction", "[0, 0.5]"}, {"top_p", "[0, 1]"}, {"prompts[0]", "shorter"},
                {"fixed_scale", "(0, 1e6]"}, {"ridge_lambdas[0]", "> 0"}, {"loss_dataset", "dataset directory"}};
        TrainEffectApproximatorRequest[] requests = {
                ok.clone().setDecoderDirections(300).build(), ok.clone().setSamplesPerPrompt(65).build(), ok.clone().setSequenceLength(2).build(),
                ok.clone().setTargetLossIncrease(-1).build(), ok.clone().setValidationFraction(0.9).build(), ok.clone().setTopP(2).build(),
                ok.clone().clearPrompts().addPrompts("Once upon a time there was a girl who liked to play in the sun every day").build(),
                ok.clone().setFixedScale(0).build(), ok.clone().addRidgeLambdas(-1).build(), ok.clone().setLossDataset("/etc").build()};
        for (int i = 0; i < cases.length; i++) {
            TrainEffectApproximatorRequest r = requests[i];
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.startTrainEffectApproximator(r), cases[i]);
        }
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.startTrainEffectApproximator(ok.clone().setDecoderDirections(2).setMixtureDirections(0)
                .setRandomDirections(0).build()), "decoder_directions", "[8, 100000]");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.startTrainEffectApproximator(ok.clone().setSaeId("").build()), "sae_id");
        mesh.approximator();
        assertStatus(Status.Code.ALREADY_EXISTS, () -> v.startTrainEffectApproximator(TestMesh.approximatorRequest().build()), TestMesh.APPROXIMATOR_ID);
    }

    @Test
    void unknownIdsAreNotFoundAndEmptyIdsInvalid() {
        assertStatus(Status.Code.NOT_FOUND, () -> v.getVector(GetVectorRequest.newBuilder().setId("missing").build()), "missing");
        assertStatus(Status.Code.NOT_FOUND, () -> v.deleteVector(DeleteVectorRequest.newBuilder().setId("missing").build()), "missing");
        assertStatus(Status.Code.NOT_FOUND, () -> v.getEffectApproximator(GetEffectApproximatorRequest.newBuilder().setId("missing").build()));
        assertStatus(Status.Code.NOT_FOUND, () -> v.deleteEffectApproximator(DeleteEffectApproximatorRequest.newBuilder().setId("missing").build()));
        assertStatus(Status.Code.NOT_FOUND, () -> v.getOperation(GetOperationRequest.newBuilder().setId("missing").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.getVector(GetVectorRequest.newBuilder().build()), "id");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.getVector(GetVectorRequest.newBuilder().setId("a/b").build()), "id");
        SteeringVector x = v.buildVector(BuildVectorRequest.newBuilder().setVectorId("dup").setRaw(RawVectorRecipe.newBuilder()
                .setHook(hook("blocks.1.hook_resid_post")).setVector(TensorCodec.ofFloats(ones(), 64))).build()).getVector();
        assertStatus(Status.Code.ALREADY_EXISTS, () -> v.buildVector(BuildVectorRequest.newBuilder().setVectorId("dup").setRaw(RawVectorRecipe.newBuilder()
                .setHook(hook("blocks.1.hook_resid_post")).setVector(TensorCodec.ofFloats(ones(), 64))).build()), "dup", "overwrite");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.getVector(GetVectorRequest.newBuilder().setId(x.getId()).setStrength(Double.NaN).build()), "strength");
        // ids without the prompt they tokenize: the marker is found in the prompt's text
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> v.getVector(GetVectorRequest.newBuilder().setId(x.getId())
                .setPromptTokens(TokenIds.newBuilder().addIds(1)).build()), "prompt_tokens", "prompt");
        v.deleteVector(DeleteVectorRequest.newBuilder().setId("dup").build());
        assertStatus(Status.Code.NOT_FOUND, () -> v.getVector(GetVectorRequest.newBuilder().setId("dup").build()));
    }

    static float[] ones() {
        float[] o = new float[64];
        java.util.Arrays.fill(o, 1);
        return o;
    }

    @Test
    void aDependencyThatIsDownIsUnavailableWithinTheDeadline() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        ModelClient deadModel = new ModelClient("127.0.0.1:" + closed, ChannelFactory.plaintext(), 30);
        SaeClient deadSae = new SaeClient("127.0.0.1:" + closed, ChannelFactory.plaintext(), 30);
        OperationRegistry ops = new OperationRegistry(1, 1, Duration.ofMinutes(1), 10);
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new VectorServiceImpl(new VectorRegistry(dir.resolve("v")), new ApproximatorRegistry(dir.resolve("a")),
                        deadModel, deadSae, new Datasets(dir), ops)).build().start();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        try {
            VectorServiceGrpc.VectorServiceBlockingStub stub = VectorServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            assertStatus(Status.Code.UNAVAILABLE, () -> stub.buildVector(BuildVectorRequest.newBuilder().setCaaMean(CaaMeanRecipe.newBuilder()
                    .setHook(hook("blocks.1.hook_resid_post")).addPositive("a").addNegative("b")).build()), "model-service", "127.0.0.1:" + closed);
            assertTrue((System.nanoTime() - t0) / 1e9 < 10, "within the deadline");
            // the registry still answers without its dependencies
            assertEquals(0, stub.listVectors(ListVectorsRequest.getDefaultInstance()).getVectorsCount());
            assertStatus(Status.Code.NOT_FOUND, () -> stub.getVector(GetVectorRequest.newBuilder().setId("x").build()));
        } finally {
            ch.shutdownNow();
            server.shutdownNow();
            ops.close();
            deadModel.close();
            deadSae.close();
        }
    }

    @Test
    void theCallersDeadlineReachesTheDependencies() {
        // a build that needs many forwards cannot finish in 50 ms: the deadline propagates and the call ends promptly
        BuildVectorRequest big = BuildVectorRequest.newBuilder().setSave(false).setCaa(CaaRecipe.newBuilder()
                .setHook(hook("blocks.2.hook_resid_post")).setDataset(ActAddCaaLoopbackTest.SURVIVAL).setMaxItems(300)).build();
        long t0 = System.nanoTime();
        assertStatus(Status.Code.DEADLINE_EXCEEDED, () -> VectorServiceGrpc.newBlockingStub(mesh.vectorChannel)
                .withDeadlineAfter(50, TimeUnit.MILLISECONDS).buildVector(big));
        assertTrue((System.nanoTime() - t0) / 1e9 < 5);
    }
}
