package steering.gateway.grpc;

import io.smallrye.common.annotation.Blocking;
import io.grpc.BindableService;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import steering.common.grpc.Errors;
import steering.common.grpc.Pacer;
import steering.gateway.mesh.MeshClients;
import steering.v1.*;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import steering.common.grpc.RequestValidation;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStreams;
import steering.gateway.eval.BehaviourJudge;
import steering.gateway.eval.Evaluator;

/**
 * The gateway's gRPC API. Generation is relayed to model-service with the steering resolved into interventions;
 * cancellation and deadlines of the incoming call carry over to the outgoing one (gRPC Context), and a dependency
 * that is down surfaces as UNAVAILABLE.
 */
// Quarkus takes the execution model of an inherited RPC method from the class that declares it, so @Blocking
// belongs here (on the Quarkus subclass it would cover no method): the handlers wait on the engine or on other
// services and must run on worker threads, not on the Vert.x event loop. Plain grpc-java servers ignore it.
@Blocking
public class SteeringServiceImpl implements SteeringGrpc.AsyncService, BindableService {
    /** The service's methods behind the mesh's wire checks: invalid UTF-8, unknown enum numbers, bytes that are no request. */
    @Override
    public final ServerServiceDefinition bindService() {
        return RequestValidation.validated(SteeringGrpc.bindService(this));
    }

    /** Applied when a client sends no deadline, so that no call can hang forever on a stuck dependency. */
    static final long DEFAULT_DEADLINE_SECONDS = 600;

    private final MeshClients mesh;
    private final SteeringResolver resolver;
    private final OperationRegistry operations;
    private final Evaluator evaluator;
    /**
     * Compare's and Evaluate's generations go to model-service at most a batch at a time (its default max-batch), so
     * its queue keeps room for other clients, and retried while it is busy: documented sizes no longer fail at once
     * with RESOURCE_EXHAUSTED. Shared by every request, which take turns.
     */
    private final Pacer pacer = new Pacer(MODEL_WINDOW, Duration.ofMinutes(10));
    static final int MODEL_WINDOW = 8;

    /** Without evaluations: Generate, Compare and GetModelInfo only. */
    public SteeringServiceImpl(MeshClients mesh) {
        this(mesh, null, null);
    }

    /**
     * @param operations runs evaluations (long-running); null disables StartEvaluate
     * @param judges     the behaviour judge for each BehaviourJudge value
     */
    public SteeringServiceImpl(MeshClients mesh, OperationRegistry operations,
                               Function<steering.v1.BehaviourJudge, BehaviourJudge> judges) {
        this.mesh = mesh;
        this.resolver = new SteeringResolver(mesh);
        this.operations = operations;
        this.evaluator = judges == null ? null : new Evaluator(mesh, resolver, judges, pacer);
        if (operations != null && evaluator != null) {
            // an evaluation interrupted by a restart continues with the points it had finished
            operations.resumeWith("Evaluate", params -> {
                EvaluateRequest checked = params.unpack(EvaluateRequest.class);
                return op -> evaluator.run(checked, op);
            });
            operations.recoverInterrupted();
        }
    }

    private static <S extends io.grpc.stub.AbstractStub<S>> S withDeadline(S stub) {
        Deadline incoming = Context.current().getDeadline();
        return incoming != null ? stub : stub.withDeadlineAfter(DEFAULT_DEADLINE_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
        try {
            out.onNext(withDeadline(mesh.modelBlocking()).getModelInfo(request));
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    @Override
    public void generate(SteeredGenerateRequest request, StreamObserver<GenerateResponse> out) {
        GenerateRequest downstream;
        try {
            // a registry vector tokenizes the prompt (once); Generate then gets its ids
            TokenizedPrompt prompt = resolver.tokenized(request.getPrompt());
            List<Intervention> steering = resolver.resolve(request.getSteeringList(), "steering", prompt);
            downstream = GenerateRequest.newBuilder().setPrompt(prompt.forGeneration()).setSampling(request.getSampling())
                    .addAllInterventions(steering).build();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
            return;
        }
        ServerCallStreamObserver<GenerateResponse> call = (ServerCallStreamObserver<GenerateResponse>) out;
        withDeadline(mesh.model()).generate(downstream, new ClientResponseObserver<GenerateRequest, GenerateResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
                // the client going away cancels the model-service call too
                call.setOnCancelHandler(() -> requestStream.cancel("client cancelled", null));
            }

            @Override
            public void onNext(GenerateResponse value) {
                if (!call.isCancelled()) call.onNext(value);
            }

            @Override
            public void onError(Throwable t) {
                if (!call.isCancelled()) call.onError(SteeringFields.restated(t, SteeringFields.of(request.getSteeringList(), "steering")));
            }

            @Override
            public void onCompleted() {
                if (!call.isCancelled()) call.onCompleted();
            }
        });
    }

    @Override
    public void compare(CompareRequest request, StreamObserver<CompareResponse> out) {
        try {
            if (request.getConfigsCount() == 0) throw Errors.invalid("configs", "at least one configuration is required");
            int samples = request.getSamples() == 0 ? 1 : request.getSamples();
            if (samples < 1 || samples > 64) throw Errors.invalid("samples", samples + " is outside [1, 64]");
            if (request.getConfigsCount() > Evaluator.MAX_CONFIGS) {
                throw Errors.invalid("configs", request.getConfigsCount() + " configurations is outside [1, " + Evaluator.MAX_CONFIGS + "]");
            }
            TokenizedPrompt prompt = resolver.tokenized(request.getPrompt()).checked();
            long seed = request.getSampling().hasSeed() ? request.getSampling().getSeed() : ThreadLocalRandom.current().nextLong(1L << 48);
            List<GenerateRequest> jobs = new ArrayList<>();
            List<ComparedGeneration.Builder> results = new ArrayList<>();
            List<UnaryOperator<String>> fields = new ArrayList<>();
            for (int c = 0; c < request.getConfigsCount(); c++) {
                SteeringConfig config = request.getConfigs(c);
                List<Intervention> ivs = resolver.resolve(config.getSteeringList(), "configs[" + c + "].steering", prompt);
                for (int s = 0; s < samples; s++) {
                    jobs.add(GenerateRequest.newBuilder().setPrompt(prompt.forGeneration())
                            .setSampling(request.getSampling().toBuilder().setSeed(seed + s)).addAllInterventions(ivs).build());
                    results.add(ComparedGeneration.newBuilder().setLabel(config.getLabel().isEmpty() ? "config " + c : config.getLabel())
                            .setSample(s).setSeed(seed + s));
                    fields.add(SteeringFields.of(config.getSteeringList(), "configs[" + c + "].steering"));
                }
            }
            // paced a batch at a time: model-service decodes them together
            List<CompletableFuture<ComparedGeneration>> futures = new ArrayList<>();
            for (int i = 0; i < jobs.size(); i++) {
                int job = i;
                futures.add(pacer.submit(request, () -> collect(jobs.get(job), results.get(job), fields.get(job))));
            }
            CompareResponse.Builder response = CompareResponse.newBuilder();
            for (CompletableFuture<ComparedGeneration> f : futures) response.addGenerations(f.join());
            out.onNext(response.build());
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    private CompletableFuture<ComparedGeneration> collect(GenerateRequest job, ComparedGeneration.Builder result,
                                                          UnaryOperator<String> fields) {
        CompletableFuture<ComparedGeneration> done = new CompletableFuture<>();
        StringBuilder text = new StringBuilder();
        withDeadline(mesh.model()).generate(job, new StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse r) {
                text.append(r.getTextDelta());
                result.addAllTokenIds(r.getTokenIdsList());
                if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) result.setFinishReason(r.getFinishReason());
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(SteeringFields.restated(t, fields));
            }

            @Override
            public void onCompleted() {
                done.complete(result.setText(text.toString()).build());
            }
        });
        return done;
    }

    @Override
    public void buildVector(BuildVectorRequest request, StreamObserver<BuildVectorResponse> out) {
        try {
            out.onNext(registry().buildVector(request));
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    @Override
    public void listVectors(ListVectorsRequest request, StreamObserver<ListVectorsResponse> out) {
        try {
            out.onNext(registry().listVectors(request));
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    private VectorServiceGrpc.VectorServiceBlockingStub registry() {
        VectorServiceGrpc.VectorServiceBlockingStub stub = mesh.vectorBlocking();
        if (stub == null) throw Errors.unavailable("this gateway has no vector-service configured (steering.vector-service.address)");
        return withDeadline(stub);
    }

    @Override
    public void startEvaluate(EvaluateRequest request, StreamObserver<Operation> out) {
        try {
            if (operations == null || evaluator == null) throw Errors.unavailable("evaluations are not enabled on this gateway");
            EvaluateRequest checked = evaluator.validate(request);
            resolver.tokenized(checked.getPrompt()).checked(); // refused now, not in the operation
            evaluator.judgeFor(checked); // an unusable judge is refused now, as Compare refuses its inputs, not later in the operation
            out.onNext(operations.start("Evaluate", checked, op -> evaluator.run(checked, op)));
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    @Override
    public void getOperation(GetOperationRequest request, StreamObserver<Operation> out) {
        if (operations == null) out.onError(Errors.notFound("operation " + request.getId()));
        else OperationStreams.get(operations, request, out);
    }

    @Override
    public void watchOperation(WatchOperationRequest request, StreamObserver<Operation> out) {
        if (operations == null) out.onError(Errors.notFound("operation " + request.getId()));
        else OperationStreams.watch(operations, request, out);
    }

    @Override
    public void cancelOperation(CancelOperationRequest request, StreamObserver<Operation> out) {
        if (operations == null) out.onError(Errors.notFound("operation " + request.getId()));
        else OperationStreams.cancel(operations, request, out);
    }
}
