package steering.sae.grpc;

import io.smallrye.common.annotation.Blocking;
import io.grpc.BindableService;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import steering.common.grpc.Errors;
import steering.common.grpc.RequestValidation;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStreams;
import steering.sae.corpus.CorpusReader;
import steering.sae.corpus.ReadableRoots;
import steering.sae.encode.FeatureDecoder;
import steering.sae.encode.FeatureEncoder;
import steering.sae.encode.HookCapture;
import steering.sae.encode.SaeInputReader;
import steering.sae.features.DecoderDirections;
import steering.sae.features.FeatureSearch;
import steering.common.client.ModelClient;
import steering.sae.stats.ComputeFeatureStatsJob;
import steering.sae.stats.FeatureStatsReport;
import steering.sae.store.SaeImporter;
import steering.sae.store.SaeRecord;
import steering.sae.store.SaeStore;
import steering.sae.training.EvaluateSaeJob;
import steering.sae.training.TrainSaeJob;
import steering.v1.*;

/**
 * The gRPC face of sae-service: one method per RPC that checks the SAE id, leases the SAE, hands the request to
 * the unit that does the work ({@code encode/}, {@code features/}, {@code stats/}, {@code store/},
 * {@code training/}) and answers; errors become statuses (INVALID_ARGUMENT naming the field and the allowed range,
 * NOT_FOUND for unknown SAEs and operations). Holds no framework types, so tests serve it from a plain grpc-java
 * server.
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

    private final SaeStore store;
    private final OperationRegistry operations;
    private final HookCapture hooks;
    private final SaeImporter importer;
    private final FeatureEncoder encoder;
    private final FeatureDecoder decoder;
    private final FeatureStatsReport statsReport;
    private final FeatureSearch search;
    private final TrainSaeJob trainer;
    private final ComputeFeatureStatsJob statsJob;
    private final EvaluateSaeJob evaluator;

    public SaeServiceImpl(SaeStore store, ModelClient model, CorpusReader corpus, OperationRegistry operations,
                          ReadableRoots roots, int maxRows) {
        this(store, model, corpus, operations, roots, maxRows, TrainSaeJob.DEFAULT_CHECKPOINT_STEPS);
    }

    /**
     * @param maxRows         the most rows one Encode, Reconstruct or Decode request may hold
     * @param checkpointSteps TrainSae saves its training state every this many steps; after a restart the operation
     *                        resumes there (with a persistent registry); ComputeFeatureStats and EvaluateSae restart
     *                        from nothing, so they end FAILED "interrupted by restart"
     */
    public SaeServiceImpl(SaeStore store, ModelClient model, CorpusReader corpus, OperationRegistry operations,
                          ReadableRoots roots, int maxRows, long checkpointSteps) {
        this.store = store;
        this.operations = operations;
        this.hooks = new HookCapture(model);
        SaeInputReader inputs = new SaeInputReader(hooks, maxRows);
        this.importer = new SaeImporter(store, roots);
        this.encoder = new FeatureEncoder(inputs);
        this.decoder = new FeatureDecoder(maxRows);
        this.statsReport = new FeatureStatsReport(store);
        this.search = new FeatureSearch(store, model, hooks);
        this.trainer = new TrainSaeJob(store, model, corpus, checkpointSteps);
        this.statsJob = new ComputeFeatureStatsJob(store, model, corpus);
        this.evaluator = new EvaluateSaeJob(store, model, corpus);
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
        answer(out, () -> importer.importSae(SaeStore.checkId(request.getSaeId(), "sae_id"), request));
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

    @Override
    public void encode(EncodeRequest request, StreamObserver<EncodeResponse> out) {
        answer(out, () -> encodeOne(request));
    }

    /** One answer per request message; the first failure ends the stream with its status. */
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

    private EncodeResponse encodeOne(EncodeRequest request) throws Exception {
        return withSae(request.getSaeId(), (id, lease) -> encoder.encode(request, lease));
    }

    @Override
    public void decode(DecodeRequest request, StreamObserver<DecodeResponse> out) {
        answer(out, () -> withSae(request.getSaeId(), (id, lease) -> decoder.decode(request, lease.sae())));
    }

    @Override
    public void reconstruct(ReconstructRequest request, StreamObserver<ReconstructResponse> out) {
        answer(out, () -> withSae(request.getSaeId(), (id, lease) -> encoder.reconstruct(request, lease)));
    }

    @Override
    public void featureDirections(FeatureDirectionsRequest request, StreamObserver<FeatureDirectionsResponse> out) {
        answer(out, () -> withSae(request.getSaeId(), (id, lease) -> DecoderDirections.of(request, id, lease.sae())));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Statistics and search
    // ------------------------------------------------------------------------------------------------------------

    @Override
    public void featureStats(FeatureStatsRequest request, StreamObserver<FeatureStatsResponse> out) {
        answer(out, () -> statsReport.report(SaeStore.checkId(request.getSaeId(), "sae_id"), request));
    }

    @Override
    public void searchFeatures(SearchFeaturesRequest request, StreamObserver<SearchFeaturesResponse> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            FeatureSearch.Query query = FeatureSearch.Query.of(request);
            try (SaeStore.Lease lease = store.acquire(id)) {
                return search.search(query, id, lease);
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
            ComputeFeatureStatsJob.Plan plan = statsJob.plan(request, id, rec, hooks.usableHook(rec, "sae_id"));
            return operations.start("ComputeFeatureStats", ctx -> statsJob.run(plan, ctx));
        });
    }

    @Override
    public void startEvaluateSae(EvaluateSaeRequest request, StreamObserver<Operation> out) {
        answer(out, () -> {
            String id = SaeStore.checkId(request.getSaeId(), "sae_id");
            EvaluateSaeJob.Plan plan = evaluator.plan(request, hooks.usableHook(store.record(id), "sae_id"));
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

    @FunctionalInterface
    interface LeasedCall<T> {
        T apply(String saeId, SaeStore.Lease lease) throws Exception;
    }

    /** Checks the request's sae_id and runs {@code call} with the SAE leased (NOT_FOUND when there is none). */
    private <T> T withSae(String saeId, LeasedCall<T> call) throws Exception {
        String id = SaeStore.checkId(saeId, "sae_id");
        try (SaeStore.Lease lease = store.acquire(id)) {
            return call.apply(id, lease);
        }
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
