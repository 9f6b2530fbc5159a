package steering.vector.service;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import steering.common.grpc.Errors;
import steering.common.ops.OperationContext;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.methods.Vec;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.ArtifactStore;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a BuildVectorRequest into a {@link SteeringVector}: a short dispatcher over one class per recipe
 * ({@link ActAddVectors}, {@link CaaVectors}, {@link CaaMeanVectors}, {@link SaeDecoderVectors}, {@link SaeTsVectors},
 * {@link FgaaVectors}, {@link RawVectors}, {@link ImportedVectors}, {@link PreferenceTrainer}); each validates its
 * recipe (INVALID_ARGUMENT naming the field and the allowed range), gathers what it needs from model-service and
 * sae-service ({@link RecipeInputs}) and applies its method from {@code steering.vector.methods}. Here: the id, the
 * provenance and the model's figures every vector gets. Stores nothing.
 */
public final class VectorBuilder {
    static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT).withZone(ZoneOffset.UTC);

    private final ModelClient model;
    private final RecipeInputs inputs;
    private final ActAddVectors actAdd;
    private final CaaVectors caa;
    private final CaaMeanVectors caaMean;
    private final SaeDecoderVectors saeDecoder;
    private final SaeTsVectors saeTs;
    private final FgaaVectors fgaa;
    private final RawVectors raw;
    private final ImportedVectors file;
    private final PreferenceTrainer trainer;

    public VectorBuilder(ModelClient model, SaeClient sae, ApproximatorRegistry approximators, Datasets datasets) {
        this.model = model;
        this.inputs = new RecipeInputs(model, sae, approximators, datasets);
        this.actAdd = new ActAddVectors(inputs);
        this.caa = new CaaVectors(inputs);
        this.caaMean = new CaaMeanVectors(inputs);
        this.saeDecoder = new SaeDecoderVectors(inputs);
        this.saeTs = new SaeTsVectors(inputs);
        this.fgaa = new FgaaVectors(inputs);
        this.raw = new RawVectors(inputs);
        this.file = new ImportedVectors(inputs);
        this.trainer = new PreferenceTrainer(model, datasets);
    }

    /** A validated build; {@link #run} does the work (for a trained recipe, minutes of training). */
    @FunctionalInterface
    public interface Prepared {
        SteeringVector run(OperationContext ctx) throws IOException;
    }

    /** What a unary BuildVector reports its progress to: nobody, and it is never cancelled. */
    static final OperationContext UNWATCHED = new OperationContext() {
        public String id() {
            return "";
        }

        public boolean isCancelled() {
            return false;
        }

        public void progress(double fraction, String message) {}

        public void metric(String name, double value) {}

        public void update(double fraction, String message, java.util.Map<String, Double> metrics) {}
    };

    public SteeringVector build(BuildVectorRequest request) throws IOException {
        return prepare(request).run(UNWATCHED);
    }

    /**
     * Checks the request (a trained recipe is validated and its pairs tokenized here, so bad input fails at once);
     * the other recipes do all their work in {@link Prepared#run}.
     */
    public Prepared prepare(BuildVectorRequest request) {
        if (request.getRecipeCase() == BuildVectorRequest.RecipeCase.RECIPE_NOT_SET) {
            throw Errors.invalid("recipe", "set one of actadd, caa, caa_mean, sae_decoder, sae_ts, fgaa, raw, file, trained");
        }
        if (!request.getVectorId().isEmpty() && !ArtifactStore.validId(request.getVectorId())) {
            throw Errors.invalid("vector_id", "'" + request.getVectorId() + "' must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        }
        ModelInfo info = model.info();
        if (request.getRecipeCase() == BuildVectorRequest.RecipeCase.TRAINED) {
            PreferenceTrainer.Plan plan = trainer.prepare(request.getTrained(), info);
            return ctx -> finish(request, trainer.train(plan, ctx), info);
        }
        return ctx -> finish(request, recipe(request, info), info);
    }

    private SteeringVector.Builder recipe(BuildVectorRequest request, ModelInfo info) throws IOException {
        return switch (request.getRecipeCase()) {
            case ACTADD -> actAdd.build(request.getActadd(), info);
            case CAA -> caa.build(request.getCaa(), info);
            case CAA_MEAN -> caaMean.build(request.getCaaMean(), info);
            case SAE_DECODER -> saeDecoder.build(request.getSaeDecoder(), info);
            case SAE_TS -> saeTs.build(request.getSaeTs(), info);
            case FGAA -> fgaa.build(request.getFgaa(), info);
            case RAW -> raw.build(request.getRaw(), info);
            case FILE -> file.build(request.getFile(), info);
            default -> throw Errors.invalid("recipe", "unknown recipe");
        };
    }

    /** Id, provenance and the model's figures on a built vector. */
    private SteeringVector finish(BuildVectorRequest request, SteeringVector.Builder v, ModelInfo info) {
        Instant now = Instant.now();
        String id = request.getVectorId().isEmpty() ? defaultId(v.getMethod(), now) : request.getVectorId();
        BuildVectorRequest recipe = request.getRecipeCase() == BuildVectorRequest.RecipeCase.FILE
                ? request.toBuilder().setFile(request.getFile().toBuilder().setData(ByteString.EMPTY)).build() : request;
        float[] data = TensorCodec.toFloats(v.getVector());
        v.setId(id).setModelId(info.getModelId())
                .setNorm(Vec.norm(data))
                .setRecipe(recipe)
                .setCreatedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
                .setDescription(request.getDescription())
                .putAllLabels(request.getLabelsMap())
                .putMetadata("architecture", info.getArchitecture())
                .putMetadata("d_model", Integer.toString(info.getDModel()))
                .putMetadata("n_layers", Integer.toString(info.getNLayers()));
        return v.build();
    }

    static String defaultId(VectorMethod method, Instant now) {
        String m = method.name().replace("VECTOR_METHOD_", "").toLowerCase(Locale.ROOT).replace('_', '-');
        return m + "-" + STAMP.format(now) + "-" + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    }

    /** The SAE's facts, refused unless it reads the model model-service serves (calibration and approximators). */
    SaeInfo checkedSae(String saeId, String field, ModelInfo info) {
        return inputs.checkedSae(saeId, field, info);
    }

    static void checkFeatures(List<WeightedFeature> features, int dSae, String field) {
        RecipeInputs.checkFeatures(features, dSae, field);
    }
}
