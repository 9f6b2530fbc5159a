package steering.vector.service;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import steering.common.grpc.Errors;
import steering.common.ops.OperationContext;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.vector.mesh.ModelClient;
import steering.vector.mesh.SaeClient;
import steering.vector.methods.ActAdd;
import steering.vector.methods.Caa;
import steering.vector.methods.Fgaa;
import steering.vector.methods.SaeDecoder;
import steering.vector.methods.SaeTs;
import steering.vector.methods.Vec;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.ArtifactStore;
import steering.vector.registry.VectorFiles;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns a BuildVectorRequest into a {@link SteeringVector}: validates the recipe (INVALID_ARGUMENT naming the field
 * and the allowed range), gathers activations / SAE data from model-service and sae-service, and applies the method
 * from {@code steering.vector.methods}. Stores nothing.
 */
public final class VectorBuilder {
    static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT).withZone(ZoneOffset.UTC);

    private final ModelClient model;
    private final SaeClient sae;
    private final ApproximatorRegistry approximators;
    private final Datasets datasets;
    private final PreferenceTrainer trainer;

    public VectorBuilder(ModelClient model, SaeClient sae, ApproximatorRegistry approximators, Datasets datasets) {
        this.model = model;
        this.sae = sae;
        this.approximators = approximators;
        this.datasets = datasets;
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
            case ACTADD -> actAdd(request.getActadd(), info);
            case CAA -> caa(request.getCaa(), info);
            case CAA_MEAN -> caaMean(request.getCaaMean(), info);
            case SAE_DECODER -> saeDecoder(request.getSaeDecoder(), info);
            case SAE_TS -> saeTs(request.getSaeTs(), info);
            case FGAA -> fgaa(request.getFgaa(), info);
            case RAW -> raw(request.getRaw(), info);
            case FILE -> file(request.getFile(), info);
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

    // ------------------------------------------------------------------------------------------------------------
    // ActAdd
    // ------------------------------------------------------------------------------------------------------------

    private SteeringVector.Builder actAdd(ActAddRecipe r, ModelInfo info) {
        String hook = model.checkHook(r.getHook(), "actadd.hook.name");
        if (r.getPositive().isEmpty()) throw Errors.invalid("actadd.positive", "a non-empty prompt is required");
        double coefficient = r.hasCoefficient() ? r.getCoefficient() : 1.0;
        checkFinite(coefficient, "actadd.coefficient", 1e6);
        boolean bos = !r.hasAddBos() || r.getAddBos();
        int pad;
        if (r.hasPadTokenId()) {
            pad = r.getPadTokenId();
            if (pad < 0 || pad >= info.getVocabSize()) {
                throw Errors.invalid("actadd.pad_token_id", pad + " is outside [0, " + (info.getVocabSize() - 1) + "]");
            }
        } else {
            int[] space = model.tokenize(" ", false);
            if (space.length == 0) throw Errors.invalid("actadd.pad_token_id", "the model has no token for a space; give pad_token_id");
            pad = space[space.length - 1];
        }
        int[] p = model.tokenize(r.getPositive(), bos, "actadd.positive");
        int[] n = model.tokenize(r.getNegative(), bos, "actadd.negative");
        ActAdd.Padded padded = ActAdd.pad(p, n, pad);
        int len = padded.length();
        if (len > info.getMaxRequestTokens()) {
            throw Errors.invalid("actadd.positive", "the prompts have " + len + " tokens; the limit is " + info.getMaxRequestTokens());
        }
        List<ModelClient.Captured> caps = model.capturePerToken(
                List.of(ModelClient.tokens(padded.positive()), ModelClient.tokens(padded.negative())), hook, false);
        int d = info.getDModel();
        float[] a = ActAdd.difference(caps.get(0).rows(), caps.get(1).rows(), len, d);
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_ACTADD)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(a, len, d))
                .setPositions(PositionPolicy.PROMPT_FRONT)
                .setDefaultScale(coefficient)
                .addSources("text:positive (" + p.length + " tokens)").addSources("text:negative (" + n.length + " tokens)")
                .putMetadata("tokens", Integer.toString(len))
                .putMetadata("pad_token_id", Integer.toString(pad))
                .putMetadata("positive_tokens", Integer.toString(p.length))
                .putMetadata("negative_tokens", Integer.toString(n.length));
    }

    // ------------------------------------------------------------------------------------------------------------
    // CAA (original)
    // ------------------------------------------------------------------------------------------------------------

    private SteeringVector.Builder caa(CaaRecipe r, ModelInfo info) {
        String hook = model.checkHook(r.getHook(), "caa.hook.name");
        List<AbItem> items = new ArrayList<>(r.getItemsList());
        List<String> sources = new ArrayList<>();
        if (r.getMaxItems() < 0) throw Errors.invalid("caa.max_items", r.getMaxItems() + " is outside [0, " + Datasets.MAX_ITEMS + "] (0 = all)");
        if (!r.getDataset().isEmpty()) {
            List<AbItem> fromFile = datasets.abItems(r.getDataset(), r.getMaxItems(), "caa.dataset");
            items.addAll(fromFile);
            sources.add("dataset:" + r.getDataset() + "[:" + fromFile.size() + "] sha256=" + datasets.sha256(r.getDataset()));
        }
        if (r.getItemsCount() > 0) sources.add("items:" + r.getItemsCount() + " inline");
        if (items.isEmpty()) throw Errors.invalid("caa.items", "at least one A/B item is required (items or dataset)");
        if (items.size() > Datasets.MAX_ITEMS) throw Errors.invalid("caa.items", items.size() + " items is outside [1, " + Datasets.MAX_ITEMS + "]");
        String template = r.getPromptTemplate().isEmpty() ? Caa.BASE_TEMPLATE : r.getPromptTemplate();
        if (!template.contains("{question}") || !template.contains("{answer}")) {
            throw Errors.invalid("caa.prompt_template", "must contain {question} and {answer}, e.g. " + Caa.BASE_TEMPLATE.replace("\n", "\\n"));
        }
        String marker = !r.getInstructionEndMarker().isEmpty() ? r.getInstructionEndMarker()
                : template.equals(Caa.CHAT_TEMPLATE) ? Caa.CHAT_MARKER : Caa.BASE_MARKER;
        int readPosition = r.hasReadPosition() ? r.getReadPosition() : -2;
        boolean bos = !r.hasAddBos() || r.getAddBos();
        double multiplier = r.hasMultiplier() ? r.getMultiplier() : 1.0;
        checkFinite(multiplier, "caa.multiplier", 1e6);
        java.util.function.IntFunction<String> item = i -> i < r.getItemsCount() ? "caa.items[" + i + "]"
                : "caa.dataset item " + (i - r.getItemsCount());
        List<Prompt> pos = new ArrayList<>(), neg = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            AbItem it = items.get(i);
            String f = item.apply(i);
            if (it.getQuestion().isBlank()) throw Errors.invalid(f + ".question", "is empty");
            if (it.getAnswerMatchingBehavior().isBlank()) throw Errors.invalid(f + ".answer_matching_behavior", "is empty");
            if (it.getAnswerNotMatchingBehavior().isBlank()) throw Errors.invalid(f + ".answer_not_matching_behavior", "is empty");
            pos.add(Prompt.newBuilder().setText(Caa.fill(template, it.getQuestion(), it.getAnswerMatchingBehavior())).setAddBos(bos).build());
            neg.add(Prompt.newBuilder().setText(Caa.fill(template, it.getQuestion(), it.getAnswerNotMatchingBehavior())).setAddBos(bos).build());
        }
        PositionSelection at = PositionSelection.newBuilder().addPositions(readPosition).build();
        List<ModelClient.Captured> cp, cn;
        try {
            cp = model.capture(pos, hook, Reduction.PER_TOKEN, at, item);
            cn = model.capture(neg, hook, Reduction.PER_TOKEN, at, item);
        } catch (io.grpc.StatusRuntimeException e) {
            if (e.getStatus().getCode() != io.grpc.Status.Code.INVALID_ARGUMENT) throw e;
            String d = e.getStatus().getDescription(), hint = "drop long items or lower max_items (inline items come first, then the dataset's)";
            // named as the caller's item already (ModelClient.capture), or something about the request as a whole
            if (d.startsWith("caa.")) throw io.grpc.Status.INVALID_ARGUMENT.withDescription(d + "; " + hint).asRuntimeException();
            throw Errors.invalid("caa.items", "an item does not fit the model (" + d + "); " + hint);
        }
        List<float[]> a = new ArrayList<>(), b = new ArrayList<>();
        int distinct = 0;
        for (int i = 0; i < items.size(); i++) {
            a.add(cp.get(i).rows());
            b.add(cn.get(i).rows());
            int tp = cp.get(i).tokenIds()[cp.get(i).positions()[0]], tn = cn.get(i).tokenIds()[cn.get(i).positions()[0]];
            if (tp != tn) distinct++;
        }
        float[] vec = Caa.meanDifference(a, b);
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_CAA)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(vec, info.getDModel()))
                .setPositions(PositionPolicy.FROM_INDEX)
                .setPositionMarker(marker)
                .setDefaultScale(multiplier)
                .addAllSources(sources)
                .putMetadata("items", Integer.toString(items.size()))
                .putMetadata("read_position", Integer.toString(readPosition))
                .putMetadata("prompt_template", template)
                .putMetadata("items_with_different_read_tokens", Integer.toString(distinct));
    }

    // ------------------------------------------------------------------------------------------------------------
    // CAA (SAE-TS baseline)
    // ------------------------------------------------------------------------------------------------------------

    private SteeringVector.Builder caaMean(CaaMeanRecipe r, ModelInfo info) {
        String hook = model.checkHook(r.getHook(), "caa_mean.hook.name");
        List<Prompt> pos = texts(r.getPositiveList(), "caa_mean.positive");
        List<Prompt> neg = texts(r.getNegativeList(), "caa_mean.negative");
        boolean includeBos = !r.hasIncludeBos() || r.getIncludeBos();
        boolean normalize = !r.hasNormalize() || r.getNormalize();
        List<float[]> mp = model.captureMean(pos, hook, !includeBos, i -> "caa_mean.positive[" + i + "]");
        List<float[]> mn = model.captureMean(neg, hook, !includeBos, i -> "caa_mean.negative[" + i + "]");
        float[] vec;
        try {
            vec = Caa.meanOfMeans(mp, mn, normalize);
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("caa_mean.positive", "the positive and negative sentences have the same mean activation; the difference is zero");
        }
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_CAA_MEAN)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(vec, info.getDModel()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addSources("texts:" + pos.size() + " positive, " + neg.size() + " negative")
                .putMetadata("include_bos", Boolean.toString(includeBos))
                .putMetadata("normalized", Boolean.toString(normalize))
                .putMetadata("difference_norm", Double.toString(Vec.norm(Vec.sub(Vec.mean(mp), Vec.mean(mn)))));
    }

    static List<Prompt> texts(List<String> list, String field) {
        if (list.isEmpty()) throw Errors.invalid(field, "at least one text is required (allowed: 1 to 1000 non-empty texts)");
        if (list.size() > 1000) throw Errors.invalid(field, list.size() + " texts is outside [1, 1000]");
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).isEmpty()) throw Errors.invalid(field + "[" + i + "]", "is empty");
            out.add(Prompt.newBuilder().setText(list.get(i)).setAddBos(true).build());
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------------------
    // SAE decoder
    // ------------------------------------------------------------------------------------------------------------

    /** The SAE's facts, refused unless it reads the model model-service serves. */
    SaeInfo checkedSae(String saeId, String field, ModelInfo info) {
        SaeInfo s = sae.info(saeId, field);
        if (!s.getModelId().isEmpty() && !s.getModelId().equals(info.getModelId())) {
            throw Errors.invalid(field, "SAE '" + saeId + "' was trained on model " + s.getModelId() + ", but model-service serves "
                    + info.getModelId() + "; a vector must be built for the model it steers");
        }
        if (s.getDIn() != info.getDModel()) {
            throw Errors.invalid(field, "SAE '" + saeId + "' has d_in " + s.getDIn() + ", the model's d_model is " + info.getDModel());
        }
        if (!info.getHookPointsList().contains(s.getHook().getName())) {
            throw Errors.invalid(field, "SAE '" + saeId + "' reads hook '" + s.getHook().getName() + "', which " + info.getModelId() + " does not have");
        }
        return s;
    }

    static void checkFeatures(List<WeightedFeature> features, int dSae, String field) {
        if (features.isEmpty()) throw Errors.invalid(field, "at least one feature is required (features in [0, " + (dSae - 1) + "])");
        if (features.size() > 10_000) throw Errors.invalid(field, features.size() + " features is outside [1, 10000]");
        boolean nonZero = false;
        for (int i = 0; i < features.size(); i++) {
            WeightedFeature f = features.get(i);
            if (f.getFeature() < 0 || f.getFeature() >= dSae) {
                throw Errors.invalid(field + "[" + i + "].feature", f.getFeature() + " is outside [0, " + (dSae - 1) + "]");
            }
            if (!Double.isFinite(f.getWeight()) || Math.abs(f.getWeight()) > 1e6) {
                throw Errors.invalid(field + "[" + i + "].weight", f.getWeight() + " is outside [-1e6, 1e6]");
            }
            nonZero |= f.getWeight() != 0;
        }
        if (!nonZero) throw Errors.invalid(field, "every weight is 0; at least one must be non-zero");
    }

    private SteeringVector.Builder saeDecoder(SaeDecoderRecipe r, ModelInfo info) {
        SaeInfo s = checkedSae(r.getSaeId(), "sae_decoder.sae_id", info);
        checkFeatures(r.getFeaturesList(), s.getDSae(), "sae_decoder.features");
        int k = r.getFeaturesCount();
        int[] features = new int[k];
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
            features[i] = r.getFeatures(i).getFeature();
            weights[i] = r.getFeatures(i).getWeight();
        }
        SaeClient.Directions rows = sae.directions(s.getId(), features, false);
        float[] vec;
        try {
            vec = SaeDecoder.combine(rows.rows(), weights, s.getDIn(), r.getNormalizeRows());
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("sae_decoder.features", "the weighted decoder rows sum to zero (" + e.getMessage() + ")");
        }
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_SAE_DECODER)
                .setHook(s.getHook())
                .setVector(TensorCodec.ofFloats(vec, s.getDIn()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addAllFeatures(r.getFeaturesList())
                .setSaeId(s.getId())
                .addSources("sae:" + s.getId() + " (" + s.getSource() + ")");
        StringBuilder norms = new StringBuilder();
        for (int i = 0; i < k; i++) norms.append(i > 0 ? "," : "").append(rows.norms()[i]);
        return b.putMetadata("decoder_row_norms", norms.toString());
    }

    // ------------------------------------------------------------------------------------------------------------
    // SAE-TS and FGAA
    // ------------------------------------------------------------------------------------------------------------

    /** The approximator's facts, refused unless it was trained for the model model-service serves. */
    EffectApproximatorInfo checkedApproximator(String id, String field, ModelInfo info) throws IOException {
        if (id.isEmpty()) throw Errors.invalid(field, "an effect approximator id is required (see StartTrainEffectApproximator)");
        EffectApproximatorInfo a = ArtifactStore.validId(id) ? approximators.info(id) : null;
        if (a == null) throw Errors.invalid(field, "unknown effect approximator '" + id + "'");
        if (!a.getModelId().equals(info.getModelId())) {
            throw Errors.invalid(field, "effect approximator '" + id + "' was trained on model " + a.getModelId()
                    + ", but model-service serves " + info.getModelId());
        }
        return a;
    }

    private SteeringVector.Builder saeTs(SaeTsRecipe r, ModelInfo info) throws IOException {
        EffectApproximatorInfo a = checkedApproximator(r.getApproximatorId(), "sae_ts.approximator_id", info);
        checkFeatures(r.getTargetsList(), a.getDSae(), "sae_ts.targets");
        double biasScale = r.hasBiasScale() ? r.getBiasScale() : 1.0;
        checkFinite(biasScale, "sae_ts.bias_scale", 100);
        ApproximatorRegistry.Weights w = weights(a);
        int k = r.getTargetsCount();
        int[] features = new int[k];
        double[] weights = new double[k];
        for (int i = 0; i < k; i++) {
            features[i] = r.getTargets(i).getFeature();
            weights[i] = r.getTargets(i).getWeight();
        }
        float[] t = SaeTs.target(w.m(), features, weights);
        float[] vec;
        try {
            vec = SaeTs.steer(w.w(), w.b(), w.d(), w.m(), t, biasScale);
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("sae_ts.targets", "the approximator maps this target to the zero vector (" + e.getMessage() + ")");
        }
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_SAE_TS)
                .setHook(a.getHook())
                .setVector(TensorCodec.ofFloats(vec, w.d()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addAllFeatures(r.getTargetsList())
                .setSaeId(a.getSaeId())
                .setApproximatorId(a.getId())
                .addSources("approximator:" + a.getId()).addSources("sae:" + a.getSaeId())
                .putMetadata("bias_scale", Double.toString(biasScale))
                .putMetadata("predicted_target_effect", Double.toString(predictedEffect(w, vec, features, weights)));
    }

    private ApproximatorRegistry.Weights weights(EffectApproximatorInfo a) throws IOException {
        ApproximatorRegistry.Weights w = approximators.weights(a.getId());
        if (w == null) throw Errors.notFound("effect approximator '" + a.getId() + "' was deleted");
        return w;
    }

    /** <t, e(v)> - <t, b>: what the approximator predicts a unit step along v does to the target. */
    static double predictedEffect(ApproximatorRegistry.Weights w, float[] v, int[] features, double[] weights) {
        double s = 0;
        for (int k = 0; k < features.length; k++) {
            double acc = 0;
            for (int i = 0; i < w.d(); i++) acc += v[i] * w.w()[i * w.m() + features[k]];
            s += weights[k] * acc;
        }
        return s;
    }

    private SteeringVector.Builder fgaa(FgaaRecipe r, ModelInfo info) throws IOException {
        EffectApproximatorInfo a = checkedApproximator(r.getApproximatorId(), "fgaa.approximator_id", info);
        String saeId = r.getSaeId().isEmpty() ? a.getSaeId() : r.getSaeId();
        if (!saeId.equals(a.getSaeId())) {
            throw Errors.invalid("fgaa.sae_id", "'" + saeId + "' differs from the approximator's SAE '" + a.getSaeId()
                    + "'; FGAA's target must live in the space the approximator maps from");
        }
        SaeInfo s = checkedSae(saeId, "fgaa.sae_id", info);
        if (s.getDSae() != a.getDSae()) {
            throw Errors.invalid("fgaa.sae_id", "SAE '" + saeId + "' now has d_sae " + s.getDSae() + ", the approximator was trained for " + a.getDSae());
        }
        List<Prompt> pos = texts(r.getPositiveList(), "fgaa.positive");
        List<Prompt> neg = texts(r.getNegativeList(), "fgaa.negative");
        double maxDensity = r.hasMaxDensity() ? r.getMaxDensity() : 0.01;
        if (!(maxDensity > 0 && maxDensity <= 1)) throw Errors.invalid("fgaa.max_density", maxDensity + " is outside (0, 1]");
        int m = s.getDSae();
        int nPos = r.hasNPos() ? r.getNPos() : 10;
        int nNeg = r.hasNNeg() ? r.getNNeg() : 0;
        if (nPos < 0 || nPos > m) throw Errors.invalid("fgaa.n_pos", nPos + " is outside [0, " + m + "]");
        if (nNeg < 0 || nNeg > m) throw Errors.invalid("fgaa.n_neg", nNeg + " is outside [0, " + m + "]");
        if (nPos + nNeg == 0) throw Errors.invalid("fgaa.n_pos", "n_pos + n_neg = 0: at least one feature must be kept (n_pos, n_neg in [0, " + m + "], sum >= 1)");
        Set<Integer> excluded = new HashSet<>();
        for (int i = 0; i < r.getExcludeFeaturesCount(); i++) {
            int f = r.getExcludeFeatures(i);
            if (f < 0 || f >= m) throw Errors.invalid("fgaa.exclude_features[" + i + "]", f + " is outside [0, " + (m - 1) + "]");
            excluded.add(f);
        }
        boolean removeBos = !r.hasRemoveBosFeatures() || r.getRemoveBosFeatures();
        boolean includeBos = r.hasIncludeBos() && r.getIncludeBos();
        double biasScale = r.hasBiasScale() ? r.getBiasScale() : 1.0;
        checkFinite(biasScale, "fgaa.bias_scale", 100);
        SaeClient.Stats stats = sae.stats(saeId);
        Set<Integer> bos = removeBos ? new HashSet<>(stats.bosFeatures()) : Set.of();
        float[] meanPos = Vec.mean(sae.encodeMean(saeId, pos, includeBos, i -> "fgaa.positive[" + i + "]"));
        float[] meanNeg = Vec.mean(sae.encodeMean(saeId, neg, includeBos, i -> "fgaa.negative[" + i + "]"));
        Fgaa.Selection sel = Fgaa.select(meanPos, meanNeg, stats.density(), maxDensity, bos, excluded, nPos, nNeg);
        if (sel.features().length == 0) {
            throw Errors.invalid("fgaa.max_density", "no feature is left after the filters (" + sel.droppedForDensity()
                    + " denser than " + maxDensity + ", " + sel.droppedAsBos() + " BOS features, " + sel.droppedExcluded()
                    + " excluded); raise max_density or give examples that differ more");
        }
        ApproximatorRegistry.Weights w = weights(a);
        float[] vec;
        try {
            vec = SaeTs.steer(w.w(), w.b(), w.d(), w.m(), sel.target(), biasScale);
        } catch (Vec.ZeroVectorException e) {
            throw Errors.invalid("fgaa.positive", "the approximator maps the selected features to the zero vector");
        }
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_FGAA)
                .setHook(a.getHook())
                .setVector(TensorCodec.ofFloats(vec, w.d()))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .setSaeId(saeId)
                .setApproximatorId(a.getId())
                .addSources("texts:" + pos.size() + " positive, " + neg.size() + " negative")
                .addSources("approximator:" + a.getId()).addSources("sae:" + saeId + " (statistics over " + stats.tokens() + " tokens)")
                .putMetadata("max_density", Double.toString(maxDensity))
                .putMetadata("dropped_for_density", Integer.toString(sel.droppedForDensity()))
                .putMetadata("dropped_bos_features", Integer.toString(sel.droppedAsBos()))
                .putMetadata("dropped_excluded", Integer.toString(sel.droppedExcluded()))
                .putMetadata("diff_norm", Double.toString(Vec.norm(sel.diff())))
                .putMetadata("bias_scale", Double.toString(biasScale))
                .putMetadata("predicted_target_effect", Double.toString(predictedEffect(w, vec, sel.features(), sel.weights())));
        for (int i = 0; i < sel.features().length; i++) {
            b.addFeatures(WeightedFeature.newBuilder().setFeature(sel.features()[i]).setWeight(sel.weights()[i]));
        }
        return b;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Imports
    // ------------------------------------------------------------------------------------------------------------

    private SteeringVector.Builder raw(RawVectorRecipe r, ModelInfo info) {
        String hook = model.checkHook(r.getHook(), "raw.hook.name");
        if (!r.hasVector()) throw Errors.invalid("raw.vector", "a FLOAT32/FLOAT16/BFLOAT16 tensor of shape [" + info.getDModel() + "] is required");
        PositionPolicy policy = r.getPositions() == PositionPolicy.POSITION_POLICY_UNSPECIFIED ? PositionPolicy.ALL : r.getPositions();
        if (policy == PositionPolicy.UNRECOGNIZED) throw Errors.invalid("raw.positions", "unknown policy");
        float[] data;
        try {
            data = TensorCodec.toFloats(r.getVector());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw Errors.invalid("raw.vector", e.getMessage());
        }
        long[] shape = checkShape(r.getVector().getShapeList(), data, info, policy, "raw.vector");
        if (r.getFromIndex() < 0 || r.getFromIndex() >= Math.max(1, info.getContextLength())) {
            throw Errors.invalid("raw.from_index", r.getFromIndex() + " is outside [0, " + (info.getContextLength() - 1) + "]");
        }
        double scale = r.hasDefaultScale() ? r.getDefaultScale() : 1.0;
        checkFinite(scale, "raw.default_scale", 1e6);
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_IMPORTED)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(data, shape))
                .setPositions(policy)
                .setFromIndex(r.getFromIndex())
                .setPositionMarker(r.getPositionMarker())
                .setDefaultScale(scale)
                .addSources("tensor:inline");
    }

    static long[] checkShape(List<Long> shape, float[] data, ModelInfo info, PositionPolicy policy, String field) {
        int d = info.getDModel();
        long[] s;
        if (shape.size() == 1 && shape.get(0) == d) s = new long[]{d};
        else if (shape.size() == 2 && shape.get(1) == d && shape.get(0) >= 1 && shape.get(0) <= info.getMaxRequestTokens()) {
            if (shape.get(0) > 1 && policy != PositionPolicy.PROMPT_FRONT) {
                throw Errors.invalid(field, "shape " + shape + " has several rows, which only PROMPT_FRONT uses; other policies take [" + d + "]");
            }
            s = new long[]{shape.get(0), d};
        } else {
            throw Errors.invalid(field, "shape " + shape + " does not fit d_model " + d + ": expected [" + d + "] or [n, " + d
                    + "] with n in [1, " + info.getMaxRequestTokens() + "]");
        }
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) throw Errors.invalid(field, "element " + i + " is " + data[i] + "; values must be finite");
        }
        if (!(Vec.norm(data) > 0)) throw Errors.invalid(field, "the vector is zero");
        return s;
    }

    private SteeringVector.Builder file(ImportFileRecipe r, ModelInfo info) throws IOException {
        byte[] bytes = r.getData().toByteArray();
        if (bytes.length == 0) throw Errors.invalid("file.data", "the file is empty");
        VectorFileFormat format = r.getFormat() == VectorFileFormat.VECTOR_FILE_FORMAT_UNSPECIFIED ? VectorFiles.detect(bytes) : r.getFormat();
        return switch (format) {
            case VECTOR_FILE_FORMAT_SAFETENSORS -> importSafetensors(r, bytes, info);
            case VECTOR_FILE_FORMAT_GGUF -> importGguf(r, bytes, info);
            default -> throw Errors.invalid("file.format", "the file is neither safetensors nor GGUF; set format to "
                    + "VECTOR_FILE_FORMAT_SAFETENSORS or VECTOR_FILE_FORMAT_GGUF");
        };
    }

    private SteeringVector.Builder importSafetensors(ImportFileRecipe r, byte[] bytes, ModelInfo info) {
        VectorFiles.SafetensorsVector f;
        try {
            f = VectorFiles.readSafetensors(bytes);
        } catch (IOException e) {
            throw Errors.invalid("file.data", "not a readable safetensors vector: " + e.getMessage());
        }
        SteeringVector described = f.described();
        String fileModel = described != null ? described.getModelId() : f.metadata().getOrDefault("model_id", "");
        if (!fileModel.isEmpty() && !fileModel.equals(info.getModelId())) {
            throw Errors.invalid("file.data", "the vector was built on model " + fileModel + ", but model-service serves " + info.getModelId());
        }
        String hookName = !r.getHook().getName().isEmpty() ? r.getHook().getName()
                : described != null ? described.getHook().getName() : f.metadata().getOrDefault("hook", "");
        if (hookName.isEmpty()) throw Errors.invalid("file.hook.name", "the file names no hook point; give one");
        String hook = model.checkHook(HookPoint.newBuilder().setName(hookName).build(), "file.hook.name");
        PositionPolicy policy = described != null && described.getPositions() != PositionPolicy.POSITION_POLICY_UNSPECIFIED
                ? described.getPositions() : f.shape().length == 2 && f.shape()[0] > 1 ? PositionPolicy.PROMPT_FRONT : PositionPolicy.ALL;
        List<Long> shape = new ArrayList<>();
        for (long s : f.shape()) shape.add(s);
        long[] s = checkShape(shape, f.data(), info, policy, "file.data");
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_IMPORTED)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(f.data(), s))
                .setPositions(policy)
                .addSources("file:safetensors (" + bytes.length + " bytes)");
        if (described != null) {
            b.setFromIndex(described.getFromIndex()).setPositionMarker(described.getPositionMarker())
                    .setDefaultScale(described.getDefaultScale() != 0 ? described.getDefaultScale() : 1.0)
                    .addAllFeatures(described.getFeaturesList()).setSaeId(described.getSaeId())
                    .setApproximatorId(described.getApproximatorId())
                    .setKind(described.getKind())
                    .putMetadata("imported_method", described.getMethod().name())
                    .putMetadata("imported_id", described.getId());
            if (described.hasCalibration()) b.setCalibration(described.getCalibration());
            if (described.hasValue()) b.setValue(described.getValue());
        } else {
            b.setDefaultScale(1.0);
        }
        return b;
    }

    private SteeringVector.Builder importGguf(ImportFileRecipe r, byte[] bytes, ModelInfo info) {
        VectorFiles.ControlVector cv;
        try {
            cv = VectorFiles.readGguf(bytes);
        } catch (IOException e) {
            throw Errors.invalid("file.data", "not a readable GGUF file: " + e.getMessage());
        }
        if (!"controlvector".equals(cv.architecture())) {
            throw Errors.invalid("file.data", "general.architecture is '" + cv.architecture() + "', a control vector has 'controlvector'");
        }
        if (cv.directions().isEmpty()) throw Errors.invalid("file.data", "the file holds no direction.N tensor");
        int layer;
        if (r.hasGgufLayer()) {
            layer = r.getGgufLayer();
            if (!cv.directions().containsKey(layer)) {
                throw Errors.invalid("file.gguf_layer", layer + " is not in the file; it holds direction." + cv.directions().keySet());
            }
        } else if (cv.directions().size() == 1) {
            layer = cv.directions().firstKey();
        } else {
            throw Errors.invalid("file.gguf_layer", "the file holds directions for layers " + cv.directions().keySet() + "; pick one");
        }
        if (layer < 1 || layer > info.getNLayers() - 1) {
            throw Errors.invalid("file.gguf_layer", "direction." + layer + " is outside [1, " + (info.getNLayers() - 1)
                    + "] (llama.cpp adds direction.N to the output of block N, N >= 1)");
        }
        String hookName = r.getHook().getName().isEmpty() ? VectorFiles.hookOfGgufLayer(layer) : r.getHook().getName();
        String hook = model.checkHook(HookPoint.newBuilder().setName(hookName).build(), "file.hook.name");
        float[] data = cv.directions().get(layer);
        long[] s = checkShape(List.of((long) data.length), data, info, PositionPolicy.ALL, "file.data");
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_IMPORTED)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(data, s))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addSources("file:gguf control vector direction." + layer + " (" + bytes.length + " bytes)")
                .putMetadata("gguf_layer", Integer.toString(layer))
                .putMetadata("gguf_layers_in_file", cv.directions().keySet().toString());
        if (cv.modelHint() != null) b.putMetadata("model_hint", cv.modelHint());
        return b;
    }

    static void checkFinite(double v, String field, double limit) {
        if (!Double.isFinite(v) || Math.abs(v) > limit) throw Errors.invalid(field, v + " is outside [-" + limit + ", " + limit + "]");
    }
}
