package steering.sae.grpc;

import steering.common.steer.HookPoint;
import steering.common.steer.VectorShape;

import io.smallrye.common.annotation.Blocking;
import io.grpc.BindableService;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import steering.common.grpc.Errors;
import steering.common.grpc.RequestValidation;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStreams;
import steering.common.tensor.TensorCodec;
import steering.sae.core.Sae;
import steering.sae.core.SingleFeature;
import steering.sae.core.SaeConfig;
import steering.sae.core.SaeFiles;
import steering.sae.core.SaeLoaders;
import steering.sae.core.SparseRows;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.sae.corpus.TokenWindows;
import steering.common.client.ModelClient;
import steering.sae.stats.FeatureStatsComputer;
import steering.sae.stats.FeatureStatsData;
import steering.sae.stats.TopContext;
import steering.sae.store.SaeRecord;
import steering.sae.store.SaeStore;
import steering.sae.training.ActivationCapture;
import steering.sae.training.ActivationSet;
import steering.sae.training.TrainSaeJob;
import steering.v1.*;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gRPC face of sae-service: validates requests (INVALID_ARGUMENT naming the field and the allowed range,
 * NOT_FOUND for unknown SAEs and operations), maps them to the framework-free SAE code and answers. Holds no
 * framework types, so tests serve it from a plain grpc-java server.
 */
// Quarkus takes the execution model of an inherited RPC method from the class that declares it, so @Blocking
// belongs here (on the Quarkus subclass it would cover no method): the handlers wait on the engine or on other
// services and must run on worker threads, not on the Vert.x event loop. Plain grpc-java servers ignore it.
@Blocking
public class SaeServiceImpl implements SaeServiceGrpc.AsyncService, BindableService {
    /** The service's methods behind the mesh's wire checks: invalid UTF-8, unknown enum numbers, bytes that are no request. */
    @Override
    public final ServerServiceDefinition bindService() {
        return RequestValidation.validated(SaeServiceGrpc.bindService(this));
    }

    static final long MAX_RESPONSE_BYTES = 64L << 20;
    static final int MAX_PROMPTS = 64;

    private final SaeStore store;
    private final ModelClient model;
    private final CorpusReader corpus;
    private final OperationRegistry operations;
    private final ReadableRoots roots;
    private final int maxRows;
    private final TrainSaeJob trainer;
    private final steering.sae.training.EvaluateSaeJob evaluator;

    public SaeServiceImpl(SaeStore store, ModelClient model, CorpusReader corpus, OperationRegistry operations,
                          ReadableRoots roots, int maxRows) {
        this(store, model, corpus, operations, roots, maxRows, TrainSaeJob.DEFAULT_CHECKPOINT_STEPS);
    }

    /**
     * @param checkpointSteps TrainSae saves its training state every this many steps; after a restart the operation
     *                        resumes there (with a persistent registry); ComputeFeatureStats and EvaluateSae restart
     *                        from nothing, so they end FAILED "interrupted by restart"
     */
    public SaeServiceImpl(SaeStore store, ModelClient model, CorpusReader corpus, OperationRegistry operations,
                          ReadableRoots roots, int maxRows, long checkpointSteps) {
        this.store = store;
        this.model = model;
        this.corpus = corpus;
        this.operations = operations;
        this.roots = roots;
        this.maxRows = maxRows;
        this.trainer = new TrainSaeJob(store, model, corpus, checkpointSteps);
        this.evaluator = new steering.sae.training.EvaluateSaeJob(store, model, corpus);
        operations.resumeWith("TrainSae", params -> {
            TrainSaeJob.Plan plan = trainer.plan(params.unpack(TrainSaeRequest.class));
            return ctx -> trainer.run(plan, ctx);
        });
        operations.recoverInterrupted();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Registry
    // ------------------------------------------------------------------------------------------------------------

    @Override
    public void listSaes(ListSaesRequest request, StreamObserver<ListSaesResponse> out) {
        answer(out, () -> {
            ListSaesResponse.Builder b = ListSaesResponse.newBuilder();
            for (SaeRecord r : store.list()) {
                if (!request.getModelId().isEmpty() && !request.getModelId().equals(r.config().modelId())) continue;
                if (!request.getHook().isEmpty() && !request.getHook().equals(r.config().hookName())) continue;
                b.addSaes(r.toInfo(store.hasStats(r.id())));
            }
            return b.build();
        });
    }

    @Override
    public void getSaeInfo(GetSaeInfoRequest request, StreamObserver<SaeInfo> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            return store.record(id).toInfo(store.hasStats(id));
        });
    }

    @Override
    public void importSae(ImportSaeRequest request, StreamObserver<SaeInfo> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            if (request.getPath().isEmpty()) throw Errors.invalid("path", "a directory or .npz file on the server is required");
            Path path = Path.of(request.getPath()).toAbsolutePath().normalize();
            if (!roots.allows(path)) throw Errors.invalid("path", "'" + request.getPath() + "' is outside the readable roots " + roots);
            String hook = request.getHook().getName();
            if (!hook.isEmpty() && !HookPoint.isName(hook)) {
                throw Errors.invalid("hook.name", "'" + hook + "' is not a hook name (" + HookPoint.GRAMMAR + ")");
            }
            if (request.getFormat() == SaeSourceFormat.UNRECOGNIZED) throw Errors.invalid("format", "unknown format value");
            SaeFiles files;
            try {
                files = SaeLoaders.load(path, request.getFormat());
            } catch (SaeLoaders.SaeFormatException e) {
                throw Errors.invalid("path", e.getMessage());
            }
            SaeConfig cfg = files.config().withModelAndHook(
                    request.getModelId().isEmpty() ? files.config().modelId() : request.getModelId(),
                    hook.isEmpty() ? files.config().hookName() : hook);
            Map<String, String> meta = new LinkedHashMap<>(files.notes());
            meta.put("imported_from", files.format().name());
            SaeRecord record = new SaeRecord(id, cfg, files.format(), path.toString(), Instant.now(), meta, Map.of());
            store.save(record, files.weights(), null, request.getOverwrite());
            return record.toInfo(false);
        });
    }

    @Override
    public void deleteSae(DeleteSaeRequest request, StreamObserver<DeleteSaeResponse> out) {
        answer(out, () -> {
            store.delete(SaeStore.checkId(request.getSaeId(), "sae_id"));
            return DeleteSaeResponse.getDefaultInstance();
        });
    }

    // ------------------------------------------------------------------------------------------------------------
    // Encode / decode
    // ------------------------------------------------------------------------------------------------------------

    /** Rows of residual-stream activations, and for texts how they split by prompt. */
    record Rows(float[] data, int rows, List<EncodedText> texts, List<int[]> groups) {}

    @Override
    public void encode(EncodeRequest request, StreamObserver<EncodeResponse> out) {
        answer(out, () -> encodeOne(request));
    }

    @Override
    public StreamObserver<EncodeRequest> encodeStream(StreamObserver<EncodeResponse> out) {
        return new StreamObserver<>() {
            private boolean failed;

            @Override
            public void onNext(EncodeRequest request) {
                if (failed) return;
                try {
                    out.onNext(encodeOne(request));
                } catch (Throwable t) {
                    failed = true;
                    out.onError(Errors.toStatus(t));
                }
            }

            @Override
            public void onError(Throwable t) {
                failed = true;
            }

            @Override
            public void onCompleted() {
                if (!failed) out.onCompleted();
            }
        };
    }

    EncodeResponse encodeOne(EncodeRequest request) throws IOException {
        String id = SaeStore.checkId(request.getSaeId(), "sae_id");
        try (SaeStore.Lease lease = store.acquire(id)) {
            Sae sae = lease.sae();
            int m = sae.dSae();
            if (request.getTopK() < 0 || request.getTopK() > m) throw Errors.invalid("top_k", request.getTopK() + " is outside [0, " + m + "] (0 = dense)");
            if (request.getReduction() == FeatureReduction.UNRECOGNIZED) throw Errors.invalid("reduction", "unknown reduction value");
            Rows in = rows(request.getInput(), "input", lease);
            float[] f = sae.encode(in.data(), in.rows());
            int outRows = in.rows();
            List<EncodedText> texts = in.texts();
            FeatureReduction red = request.getReduction();
            if (red == FeatureReduction.FEATURE_REDUCTION_MEAN || red == FeatureReduction.FEATURE_REDUCTION_MAX) {
                f = reduce(f, m, in.groups(), red == FeatureReduction.FEATURE_REDUCTION_MAX);
                outRows = in.groups().size();
                List<EncodedText> t = new ArrayList<>();
                for (int i = 0; i < texts.size(); i++) t.add(texts.get(i).toBuilder().setFirstRow(i).setRowCount(1).build());
                texts = t;
            }
            EncodeResponse.Builder b = EncodeResponse.newBuilder().setRows(outRows).addAllTexts(texts);
            if (request.getTopK() == 0) {
                if ((long) outRows * m * 4 > MAX_RESPONSE_BYTES) {
                    throw Errors.invalid("top_k", "a dense result of " + outRows + " x " + m + " features exceeds "
                            + (MAX_RESPONSE_BYTES >> 20) + " MiB; ask for top_k > 0, a MEAN/MAX reduction, or fewer rows");
                }
                b.setFeatures(TensorCodec.ofFloats(f, outRows, m));
            } else {
                SparseRows s = SparseRows.fromDense(f, outRows, m, request.getTopK());
                b.setSparse(sparse(s));
            }
            return b.build();
        }
    }

    static SparseFeatures sparse(SparseRows s) {
        SparseFeatures.Builder b = SparseFeatures.newBuilder();
        for (int o : s.offsets()) b.addOffsets(o);
        for (int i : s.indices()) b.addIndices(i);
        for (float v : s.values()) b.addValues(v);
        return b.build();
    }

    private static float[] reduce(float[] f, int m, List<int[]> groups, boolean max) {
        float[] out = new float[groups.size() * m];
        for (int g = 0; g < groups.size(); g++) {
            int from = groups.get(g)[0], to = groups.get(g)[1];
            for (int j = 0; j < m; j++) {
                double acc = max ? Double.NEGATIVE_INFINITY : 0;
                for (int r = from; r < to; r++) {
                    float v = f[r * m + j];
                    acc = max ? Math.max(acc, v) : acc + v;
                }
                out[g * m + j] = (float) (max ? acc : acc / Math.max(1, to - from));
            }
        }
        return out;
    }

    /** Parses SaeInput: a tensor of rows, or prompts captured at the SAE's hook through model-service. */
    Rows rows(SaeInput input, String field, SaeStore.Lease lease) {
        Sae sae = lease.sae();
        int d = sae.dIn();
        switch (input.getKindCase()) {
            case ACTIVATIONS -> {
                Tensor t = input.getActivations();
                float[] x;
                try {
                    x = TensorCodec.toFloats(t);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw Errors.invalid(field + ".activations", e.getMessage());
                }
                int rows = shapeRows(t, d, "the SAE's d_in", field + ".activations");
                if (rows > maxRows) throw Errors.invalid(field + ".activations", rows + " rows is outside [1, " + maxRows + "]; use EncodeStream for more");
                checkFinite(x, field + ".activations");
                return new Rows(x, rows, List.of(), List.<int[]>of(new int[]{0, rows}));
            }
            case TEXTS -> {
                TextInputs texts = input.getTexts();
                if (texts.getPromptsCount() == 0) throw Errors.invalid(field + ".texts.prompts", "at least one prompt is required");
                if (texts.getPromptsCount() > MAX_PROMPTS) throw Errors.invalid(field + ".texts.prompts", texts.getPromptsCount() + " prompts is outside [1, " + MAX_PROMPTS + "]");
                String hook = usableHook(lease.record(), field + ".texts");
                List<ModelClient.Captured> caps = capture(texts.getPromptsList(), hook, field + ".texts.prompts");
                List<EncodedText> encoded = new ArrayList<>();
                List<int[]> groups = new ArrayList<>();
                int bos = model.info().getBosTokenId();
                int total = 0;
                List<float[]> parts = new ArrayList<>();
                for (ModelClient.Captured c : caps) {
                    boolean dropBos = !texts.getIncludeBos() && c.tokenIds().length > 1 && c.tokenIds()[0] == bos && bos >= 0;
                    int skip = dropBos ? 1 : 0;
                    int n = c.positions().length - skip;
                    float[] rows = new float[n * d];
                    System.arraycopy(c.rows(), skip * d, rows, 0, n * d);
                    parts.add(rows);
                    EncodedText.Builder e = EncodedText.newBuilder().setFirstRow(total).setRowCount(n);
                    for (int tid : c.tokenIds()) e.addTokenIds(tid);
                    for (int i = skip; i < c.positions().length; i++) e.addPositions(c.positions()[i]);
                    encoded.add(e.build());
                    groups.add(new int[]{total, total + n});
                    total += n;
                }
                if (total > maxRows) throw Errors.invalid(field + ".texts", "the prompts hold " + total + " tokens, more than " + maxRows);
                float[] all = new float[total * d];
                int at = 0;
                for (float[] p : parts) {
                    System.arraycopy(p, 0, all, at, p.length);
                    at += p.length;
                }
                return new Rows(all, total, encoded, groups);
            }
            default -> throw Errors.invalid(field, "set activations or texts");
        }
    }

    /** Captures through model-service; its complaints about the prompts name our field (not its "inputs[i]"). */
    private List<ModelClient.Captured> capture(List<Prompt> prompts, String hook, String field) {
        boolean single = prompts.size() == 1 && field.equals("prompt");
        return model.capturePrompts(prompts, hook, false, single ? i -> field : i -> field + "[" + i + "]");
    }

    /** The SAE's hook, checked against the model model-service serves. */
    private String usableHook(SaeRecord rec, String field) {
        String hook = rec.config().hookName();
        if (hook.isEmpty()) {
            throw Status.FAILED_PRECONDITION.withDescription(field + ": SAE '" + rec.id() + "' has no hook point; import it again with hook set")
                    .asRuntimeException();
        }
        ModelInfo info = model.info();
        if (!info.getHookPointsList().contains(hook) || info.getDModel() != rec.config().dIn()) {
            throw Status.FAILED_PRECONDITION.withDescription(field + ": SAE '" + rec.id() + "' reads " + hook + " with d_in "
                    + rec.config().dIn() + ", but model-service serves " + info.getModelId() + " (d_model " + info.getDModel() + ", "
                    + info.getNLayers() + " layers)").asRuntimeException();
        }
        return hook;
    }

    /** Rows of a [width] or [n, width] tensor (n unbounded here; callers check their row limit and say why). */
    private static int shapeRows(Tensor t, int width, String what, String field) {
        try {
            return VectorShape.rows(t.getShapeList(), width, what);
        } catch (IllegalArgumentException e) {
            throw Errors.invalid(field, e.getMessage());
        }
    }

    private static void checkFinite(float[] x, String field) {
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) throw Errors.invalid(field, "element " + i + " is " + x[i] + "; values must be finite");
        }
    }

    @Override
    public void decode(DecodeRequest request, StreamObserver<DecodeResponse> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            try (SaeStore.Lease lease = store.acquire(id)) {
                Sae sae = lease.sae();
                int m = sae.dSae();
                float[] f;
                int rows;
                switch (request.getFeaturesCase()) {
                    case DENSE -> {
                        Tensor t = request.getDense();
                        try {
                            f = TensorCodec.toFloats(t);
                        } catch (IllegalArgumentException | ArithmeticException e) {
                            throw Errors.invalid("dense", e.getMessage());
                        }
                        rows = shapeRows(t, m, "the SAE's d_sae", "dense");
                        checkFinite(f, "dense");
                    }
                    case SPARSE -> {
                        SparseFeatures s = request.getSparse();
                        rows = checkSparse(s, m);
                        f = new float[Math.multiplyExact(rows, m)];
                        for (int r = 0; r < rows; r++) {
                            for (int i = s.getOffsets(r); i < s.getOffsets(r + 1); i++) f[r * m + s.getIndices(i)] += s.getValues(i);
                        }
                    }
                    default -> throw Errors.invalid("features", "set dense or sparse");
                }
                if (rows > maxRows) throw Errors.invalid("features", rows + " rows is outside [1, " + maxRows + "]");
                float[] y = sae.decode(f, rows);
                return DecodeResponse.newBuilder().setReconstruction(TensorCodec.ofFloats(y, rows, sae.dIn())).build();
            }
        });
    }

    private int checkSparse(SparseFeatures s, int m) {
        if (s.getOffsetsCount() < 2) throw Errors.invalid("sparse.offsets", "needs rows + 1 >= 2 entries, starting at 0");
        if (s.getOffsets(0) != 0) throw Errors.invalid("sparse.offsets[0]", s.getOffsets(0) + " must be 0");
        if (s.getIndicesCount() != s.getValuesCount()) {
            throw Errors.invalid("sparse.values", s.getValuesCount() + " values for " + s.getIndicesCount() + " indices; they must match");
        }
        for (int r = 1; r < s.getOffsetsCount(); r++) {
            if (s.getOffsets(r) < s.getOffsets(r - 1) || s.getOffsets(r) > s.getIndicesCount()) {
                throw Errors.invalid("sparse.offsets[" + r + "]", s.getOffsets(r) + " is outside [" + s.getOffsets(r - 1) + ", " + s.getIndicesCount() + "]");
            }
        }
        if (s.getOffsets(s.getOffsetsCount() - 1) != s.getIndicesCount()) {
            throw Errors.invalid("sparse.offsets", "the last offset must equal the number of indices (" + s.getIndicesCount() + ")");
        }
        for (int i = 0; i < s.getIndicesCount(); i++) {
            if (s.getIndices(i) < 0 || s.getIndices(i) >= m) throw Errors.invalid("sparse.indices[" + i + "]", s.getIndices(i) + " is outside [0, " + (m - 1) + "]");
            if (!Float.isFinite(s.getValues(i))) throw Errors.invalid("sparse.values[" + i + "]", s.getValues(i) + " must be finite");
        }
        return s.getOffsetsCount() - 1;
    }

    @Override
    public void reconstruct(ReconstructRequest request, StreamObserver<ReconstructResponse> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            try (SaeStore.Lease lease = store.acquire(id)) {
                Sae sae = lease.sae();
                Rows in = rows(request.getInput(), "input", lease);
                int d = sae.dIn();
                double[] fig = TrainSaeJob.reconstructionFigures(sae, in.data(), in.rows(), d);
                Sae.Reconstruction rec = sae.reconstruct(in.data(), in.rows());
                double cos = 0;
                for (int r = 0; r < in.rows(); r++) {
                    double dot = 0, a = 0, b = 0;
                    for (int i = 0; i < d; i++) {
                        double x = in.data()[r * d + i], y = rec.reconstruction()[r * d + i];
                        dot += x * y;
                        a += x * x;
                        b += y * y;
                    }
                    cos += a > 0 && b > 0 ? dot / Math.sqrt(a * b) : 0;
                }
                ReconstructResponse.Builder b = ReconstructResponse.newBuilder().setVarianceExplained(in.rows() > 1 ? fig[0] : Double.NaN)
                        .setMse(fig[1]).setL0(fig[2]).setMeanCosine(cos / in.rows()).setRows(in.rows());
                if (request.getReturnReconstruction()) b.setReconstruction(TensorCodec.ofFloats(rec.reconstruction(), in.rows(), d));
                return b.build();
            }
        });
    }

    @Override
    public void featureDirections(FeatureDirectionsRequest request, StreamObserver<FeatureDirectionsResponse> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            try (SaeStore.Lease lease = store.acquire(id)) {
                Sae sae = lease.sae();
                int[] features = features(request.getFeaturesList(), sae.dSae(), "features");
                if ((long) features.length * sae.dIn() * 4 > MAX_RESPONSE_BYTES) {
                    throw Errors.invalid("features", features.length + " directions of width " + sae.dIn() + " exceed "
                            + (MAX_RESPONSE_BYTES >> 20) + " MiB; list the features you need");
                }
                float[] dirs = sae.directions(features, request.getNormalize());
                float[] norms = sae.decoderNorms();
                FeatureDirectionsResponse.Builder b = FeatureDirectionsResponse.newBuilder()
                        .setDirections(TensorCodec.ofFloats(dirs, features.length, sae.dIn()));
                for (int f : features) b.addFeatures(f).addNorms(norms[f]);
                if (request.getSaeFeatures()) {
                    if (features.length > MAX_SAE_FEATURES) {
                        throw Errors.invalid("features", features.length + " features with sae_features is over the limit of "
                                + MAX_SAE_FEATURES + "; list the features to steer");
                    }
                    try {
                        for (int f : features) b.addSaeFeatures(SingleFeature.of(id, sae, f));
                    } catch (IllegalArgumentException e) {
                        throw Errors.invalid("sae_features", e.getMessage());
                    }
                }
                return b.build();
            }
        });
    }

    /** each SaeFeature carries three [d_in] rows: a request names the few features it steers */
    static final int MAX_SAE_FEATURES = 64;

    private static int[] features(List<Integer> list, int m, String field) {
        if (list.isEmpty()) {
            int[] all = new int[m];
            for (int j = 0; j < m; j++) all[j] = j;
            return all;
        }
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            int f = list.get(i);
            if (f < 0 || f >= m) throw Errors.invalid(field + "[" + i + "]", f + " is outside [0, " + (m - 1) + "]");
            out[i] = f;
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Statistics and search
    // ------------------------------------------------------------------------------------------------------------

    @Override
    public void featureStats(FeatureStatsRequest request, StreamObserver<FeatureStatsResponse> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            SaeRecord rec = store.record(id);
            FeatureStatsData s = store.stats(id);
            if (s == null) {
                throw Status.FAILED_PRECONDITION.withDescription("sae_id: SAE '" + id + "' has no stored feature statistics; "
                        + "run StartComputeFeatureStats first").asRuntimeException();
            }
            int m = rec.config().dSae();
            int[] features = features(request.getFeaturesList(), m, "features");
            boolean all = request.getFeaturesCount() == 0;
            int contexts = request.hasTopContexts() ? request.getTopContexts() : (all ? 0 : 5);
            if (contexts < 0 || contexts > 100) throw Errors.invalid("top_contexts", contexts + " is outside [0, 100]");
            FeatureStatsResponse.Builder b = FeatureStatsResponse.newBuilder().setTokens(s.tokens()).setCorpus(s.corpus())
                    .setComputedAt(com.google.protobuf.Timestamp.newBuilder().setSeconds(s.computedAt().getEpochSecond()));
            for (int f : s.bosFeatures()) b.addBosFeatures(f);
            if (all) {
                b.setDensity(TensorCodec.ofFloats(s.density(), m)).setMeanActivation(TensorCodec.ofFloats(s.meanActivation(), m));
            }
            if (!all || contexts > 0) {
                float[] norms = decoderNorms(id);
                for (int f : features) b.addFeatures(stat(s, f, contexts, norms));
            }
            return b.build();
        });
    }

    private float[] decoderNorms(String id) throws IOException {
        try (SaeStore.Lease lease = store.acquire(id)) {
            return lease.sae().decoderNorms();
        }
    }

    static FeatureStat stat(FeatureStatsData s, int f, int contexts, float[] norms) {
        FeatureStat.Builder b = FeatureStat.newBuilder().setFeature(f).setDensity(s.density()[f])
                .setMeanActivation(s.meanActivation()[f]).setMeanActiveActivation(s.meanActiveActivation()[f])
                .setMaxActivation(s.maxActivation()[f]).setBosActivation(s.bosActivation()[f]);
        if (norms != null) b.setDecoderNorm(norms[f]);
        List<TopContext> list = s.topContexts().getOrDefault(f, List.of());
        for (int i = 0; i < Math.min(contexts, list.size()); i++) {
            TopContext c = list.get(i);
            b.addTopContexts(steering.v1.TopContext.newBuilder().setDocument(c.document()).setPosition(c.position())
                    .setActivation(c.activation()).setText(c.text()).setToken(c.token()));
        }
        return b.build();
    }

    @Override
    public void searchFeatures(SearchFeaturesRequest request, StreamObserver<SearchFeaturesResponse> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            int topK = request.getTopK() == 0 ? 10 : request.getTopK();
            if (topK < 1 || topK > 1000) throw Errors.invalid("top_k", topK + " is outside [1, 1000]");
            int contexts = request.hasTopContexts() ? request.getTopContexts() : 3;
            if (contexts < 0 || contexts > 100) throw Errors.invalid("top_contexts", contexts + " is outside [0, 100]");
            if (request.hasMaxDensity() && !(request.getMaxDensity() > 0 && request.getMaxDensity() <= 1)) {
                throw Errors.invalid("max_density", request.getMaxDensity() + " is outside (0, 1]");
            }
            FeatureReduction red = request.getReduction();
            if (red == FeatureReduction.UNRECOGNIZED || red == FeatureReduction.FEATURE_REDUCTION_PER_TOKEN) {
                throw Errors.invalid("reduction", red + " is not a reduction here: use FEATURE_REDUCTION_MEAN (default) or FEATURE_REDUCTION_MAX");
            }
            boolean max = red == FeatureReduction.FEATURE_REDUCTION_MAX;
            if (!request.hasPrompt() || request.getPrompt().getKindCase() == Prompt.KindCase.KIND_NOT_SET) {
                throw Errors.invalid("prompt", "a prompt (text, tokens or chat) is required");
            }
            try (SaeStore.Lease lease = store.acquire(id)) {
                Sae sae = lease.sae();
                FeatureStatsData stats = store.stats(id);
                if (request.hasMaxDensity() && stats == null) {
                    throw Status.FAILED_PRECONDITION.withDescription("max_density: SAE '" + id + "' has no stored statistics; run StartComputeFeatureStats").asRuntimeException();
                }
                String hook = usableHook(lease.record(), "prompt");
                ModelClient.Captured c = capture(List.of(request.getPrompt()), hook, "prompt").get(0);
                int d = sae.dIn(), m = sae.dSae();
                int bos = model.info().getBosTokenId();
                boolean hasBos = bos >= 0 && c.tokenIds().length > 0 && c.tokenIds()[0] == bos;
                int skip = hasBos && c.positions().length > 1 ? 1 : 0;
                int n = c.positions().length - skip;
                float[] x = new float[n * d];
                System.arraycopy(c.rows(), skip * d, x, 0, n * d);
                float[] f = sae.encode(x, n);
                float[] bosActs = null;
                if (request.getExcludeBosFeatures()) {
                    if (stats != null) bosActs = stats.bosActivation();
                    else if (hasBos) bosActs = sae.encode(java.util.Arrays.copyOf(c.rows(), d), 1);
                }
                float[] score = new float[m];
                int[] argmax = new int[m];
                for (int j = 0; j < m; j++) {
                    double acc = 0;
                    float best = 0;
                    for (int r = 0; r < n; r++) {
                        float v = f[r * m + j];
                        if (max) acc = Math.max(acc, v);
                        else acc += v;
                        if (v > best) {
                            best = v;
                            argmax[j] = r;
                        }
                    }
                    score[j] = (float) (max ? acc : acc / n);
                }
                Integer[] order = new Integer[m];
                for (int j = 0; j < m; j++) order[j] = j;
                java.util.Arrays.sort(order, (a, b) -> Float.compare(score[b], score[a]));
                TokenizeResponse pieces = model.tokenize(Prompt.newBuilder().setTokens(TokenIds.newBuilder()
                        .addAllIds(java.util.Arrays.stream(c.tokenIds()).boxed().toList())).build());
                SearchFeaturesResponse.Builder b = SearchFeaturesResponse.newBuilder().setHasFeatureStats(stats != null)
                        .addAllTokenIds(pieces.getIdsList()).addAllTokens(pieces.getTokensList());
                float[] norms = sae.decoderNorms();
                for (int i = 0; i < m && b.getHitsCount() < topK; i++) {
                    int j = order[i];
                    if (score[j] <= 0) break;
                    if (request.hasMaxDensity() && stats.density()[j] > request.getMaxDensity()) continue;
                    if (bosActs != null && bosActs[j] > 0) continue;
                    int pos = c.positions()[argmax[j] + skip];
                    SearchFeatureHit.Builder h = SearchFeatureHit.newBuilder().setFeature(j).setActivation(score[j])
                            .setMaxPosition(pos).setMaxToken(pos < pieces.getTokensCount() ? pieces.getTokens(pos) : "");
                    if (stats != null) h.setStat(stat(stats, j, contexts, norms));
                    b.addHits(h);
                }
                return b.build();
            }
        });
    }

    // ------------------------------------------------------------------------------------------------------------
    // Long-running operations
    // ------------------------------------------------------------------------------------------------------------

    @Override
    public void startTrainSae(TrainSaeRequest request, StreamObserver<Operation> out) {
        answer(out, () -> {
            TrainSaeJob.Plan plan = trainer.plan(request);
            // the resolved id is kept: a resumed run must not make a new time-stamped one
            return operations.start("TrainSae", request.toBuilder().setSaeId(plan.saeId()).build(), ctx -> trainer.run(plan, ctx));
        });
    }

    @Override
    public void startComputeFeatureStats(ComputeFeatureStatsRequest request, StreamObserver<Operation> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            SaeRecord rec = store.record(id);
            String hook = usableHook(rec, "sae_id");
            corpus.validate(request.getCorpusList(), "corpus");
            ModelInfo info = model.info();
            int maxContext = Math.min(info.getMaxRequestTokens() > 0 ? info.getMaxRequestTokens() : info.getContextLength(), 4096);
            int context = request.getContextSize() == 0 ? Math.min(128, maxContext) : request.getContextSize();
            if (context < 8 || context > maxContext) throw Errors.invalid("context_size", context + " is outside [8, " + maxContext + "]");
            long maxTokens = request.getMaxTokens() == 0 ? 100_000 : request.getMaxTokens();
            long cap = (Integer.MAX_VALUE - 8L) / info.getDModel();
            if (maxTokens < 1 || maxTokens > cap) throw Errors.invalid("max_tokens", maxTokens + " is outside [1, " + cap + "]");
            int top = request.getTopContexts() == 0 ? 10 : request.getTopContexts();
            if (top < 0 || top > 100) throw Errors.invalid("top_contexts", top + " is outside [0, 100]");
            return operations.start("ComputeFeatureStats", ctx -> {
                ctx.progress(0, "reading the corpus");
                List<CorpusReader.Document> docs = corpus.read(request.getCorpusList(), model, ctx::isCancelled);
                Map<Integer, String> pieces = new HashMap<>();
                List<TokenWindows.Window> windows = TokenWindows.build(docs, model, context, rec.config().prependBos(), 1,
                        maxTokens, pieces, ctx::isCancelled);
                if (windows.isEmpty()) throw Errors.invalid("corpus", "the corpus holds no tokens");
                String bosPiece = windows.get(0).hasBos() ? model.detokenize(new int[]{windows.get(0).ids()[0]}) : "<bos>";
                ActivationSet acts = ActivationCapture.capture(model, windows, hook, 8, ctx::isCancelled,
                        (done, total, tokens) -> ctx.progress(0.05 + 0.6 * done / total, "capturing: " + done + "/" + total + " windows"));
                List<String> parts = new ArrayList<>();
                request.getCorpusList().forEach(s -> parts.add(CorpusReader.describe(s)));
                FeatureStatsData stats;
                try (SaeStore.Lease lease = store.acquire(id)) {
                    stats = FeatureStatsComputer.compute(lease.sae(), acts, top, pieces, bosPiece, model::detokenize, String.join(" + ", parts),
                            ctx::isCancelled, (done, total) -> ctx.progress(0.65 + 0.33 * done / total, "encoding: " + done + "/" + total + " tokens"));
                }
                ctx.checkCancelled();
                store.saveStats(id, stats);
                FeatureStatsSummary.Builder sum = FeatureStatsSummary.newBuilder().setSaeId(id).setTokens(stats.tokens())
                        .setDeadFraction(stats.deadFraction()).setL0(stats.l0());
                for (int f : stats.bosFeatures()) sum.addBosFeatures(f);
                ctx.update(1.0, "statistics of " + stats.tokens() + " tokens stored", Map.of("dead_fraction", stats.deadFraction(), "l0", stats.l0()));
                return sum.build();
            });
        });
    }

    @Override
    public void startEvaluateSae(EvaluateSaeRequest request, StreamObserver<Operation> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            String hook = usableHook(store.record(id), "sae_id");
            steering.sae.training.EvaluateSaeJob.Plan plan = evaluator.plan(request, hook);
            return operations.start("EvaluateSae", ctx -> evaluator.run(plan, ctx));
        });
    }

    @Override
    public void getOperation(GetOperationRequest request, StreamObserver<Operation> out) {
        OperationStreams.get(operations, request, out);
    }

    @Override
    public void watchOperation(WatchOperationRequest request, StreamObserver<Operation> out) {
        OperationStreams.watch(operations, request, out);
    }

    @Override
    public void cancelOperation(CancelOperationRequest request, StreamObserver<Operation> out) {
        OperationStreams.cancel(operations, request, out);
    }

    // ------------------------------------------------------------------------------------------------------------

    @FunctionalInterface
    interface Call<T> {
        T get() throws Exception;
    }

    /** Runs a unary call: its value, or its error as a gRPC status (never a raw exception). */
    static <T> void answer(StreamObserver<T> out, Call<T> call) {
        T value;
        try {
            value = call.get();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
            return;
        }
        out.onNext(value);
        out.onCompleted();
    }
}
