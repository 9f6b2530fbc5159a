package steering.vector.grpc;

import io.smallrye.common.annotation.Blocking;
import com.google.protobuf.ByteString;
import io.grpc.BindableService;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import steering.common.grpc.Errors;
import steering.common.grpc.RequestValidation;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStreams;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.common.client.SaeClient;
import steering.vector.registry.ApproximatorRegistry;
import steering.vector.registry.ArtifactStore;
import steering.vector.registry.VectorFiles;
import steering.vector.registry.VectorRegistry;
import steering.vector.service.ApproximatorTrainer;
import steering.vector.service.Datasets;
import steering.vector.service.Interventions;
import steering.vector.service.KindDefaults;
import steering.vector.service.ScaleCalibrator;
import steering.vector.service.VectorBuilder;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The gRPC face of vector-service: validates requests, delegates to the builder, the registry and the long-running
 * jobs, and maps every failure to a status (INVALID_ARGUMENT naming the field, NOT_FOUND for unknown ids,
 * UNAVAILABLE for a dependency that is down). No framework types: tests serve it from a plain grpc-java server.
 */
// Quarkus takes the execution model of an inherited RPC method from the class that declares it, so @Blocking
// belongs here (on the Quarkus subclass it would cover no method): the handlers wait on the engine or on other
// services and must run on worker threads, not on the Vert.x event loop. Plain grpc-java servers ignore it.
@Blocking
public class VectorServiceImpl implements VectorServiceGrpc.AsyncService, BindableService {
    /** The service's methods behind the mesh's wire checks: invalid UTF-8, unknown enum numbers, bytes that are no request. */
    @Override
    public final ServerServiceDefinition bindService() {
        return RequestValidation.validated(VectorServiceGrpc.bindService(this));
    }

    private final VectorRegistry vectors;
    private final ApproximatorRegistry approximators;
    private final ModelClient model;
    private final SaeClient sae;
    private final OperationRegistry operations;
    private final VectorBuilder builder;
    private final ApproximatorTrainer trainer;
    private final ScaleCalibrator calibrator;

    public VectorServiceImpl(VectorRegistry vectors, ApproximatorRegistry approximators, ModelClient model, SaeClient sae,
                             Datasets datasets, OperationRegistry operations) {
        this.vectors = vectors;
        this.approximators = approximators;
        this.model = model;
        this.operations = operations;
        this.sae = sae;
        this.builder = new VectorBuilder(model, sae, approximators, datasets);
        this.trainer = new ApproximatorTrainer(model, sae, approximators, datasets);
        this.calibrator = new ScaleCalibrator(model, sae, vectors);
        // an approximator interrupted by a restart continues with the directions it had measured; a calibration
        // starts from nothing, so it ends FAILED "interrupted by restart"
        operations.resumeWith("TrainEffectApproximator",
                params -> trainer.resume(params.unpack(TrainEffectApproximatorRequest.class), builder));
        operations.recoverInterrupted();
    }

    @FunctionalInterface
    interface Call<T> {
        T get() throws Exception;
    }

    static <T> void answer(StreamObserver<T> out, Call<T> call) {
        T value;
        try {
            value = call.get();
        } catch (ArtifactStore.AlreadyExistsException e) {
            out.onError(Status.ALREADY_EXISTS.withDescription(e.getMessage() + "; set overwrite to replace it").asRuntimeException());
            return;
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
            return;
        }
        out.onNext(value);
        out.onCompleted();
    }

    static String checkId(String id, String field) {
        if (id.isEmpty()) throw Errors.invalid(field, "an id is required");
        if (!ArtifactStore.validId(id)) throw Errors.invalid(field, "'" + id + "' must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}");
        return id;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Vectors
    // ------------------------------------------------------------------------------------------------------------

    @Override
    public void buildVector(BuildVectorRequest request, StreamObserver<BuildVectorResponse> out) {
        answer(out, () -> finished(request, builder.build(request)));
    }

    /**
     * What a build answers, unary or as StartBuildVector's result: the vector with the request's kind, value and
     * positions, stored unless save = false, and its intervention at strength 1 (the kind's own: ADD at
     * default_scale, the value kinds at their value, SAE_FEATURE with its SAE tensors), the tensor sent once as
     * GetVector sends it.
     */
    private BuildVectorResponse finished(BuildVectorRequest request, SteeringVector built) throws java.io.IOException {
        SteeringVector v = KindDefaults.apply(request, built);
        Intervention iv = Interventions.of(v, 1.0, v.getFromIndex(), sae, "sae_decoder.sae_id");
        if (saves(request)) vectors.save(v, request.getOverwrite());
        return BuildVectorResponse.newBuilder().setVector(Interventions.withIntervention(v, iv)).build();
    }

    private static boolean saves(BuildVectorRequest request) {
        return !request.hasSave() || request.getSave();
    }

    @Override
    public void startBuildVector(BuildVectorRequest request, StreamObserver<Operation> out) {
        answer(out, () -> {
            VectorBuilder.Prepared build = builder.prepare(request);
            KindDefaults.check(request); // a bad kind or value is refused now, not after the build's minutes
            if (saves(request) && !request.getVectorId().isEmpty() && !request.getOverwrite() && vectors.get(request.getVectorId()) != null) {
                throw new ArtifactStore.AlreadyExistsException(request.getVectorId());
            }
            return operations.start("BuildVector", ctx -> finished(request, build.run(ctx)));
        });
    }

    @Override
    public void getVector(GetVectorRequest request, StreamObserver<SteeringVector> out) {
        answer(out, () -> {
            String id = checkId(request.getId(), "id");
            double strength = request.hasStrength() ? request.getStrength() : 1.0;
            if (!Double.isFinite(strength) || Math.abs(strength) > 1e3) throw Errors.invalid("strength", strength + " is outside [-1000, 1000]");
            SteeringVector v = vectors.get(id);
            if (v == null) throw Errors.notFound("vector '" + id + "' does not exist");
            boolean prompted = request.hasPrompt() && request.getPrompt().getKindCase() != Prompt.KindCase.KIND_NOT_SET;
            if (request.hasPromptTokens() && !prompted) {
                throw Errors.invalid("prompt_tokens", "give the prompt they are the tokens of (prompt): the marker is found in its text");
            }
            int from = v.getFromIndex();
            if (prompted) from = Interventions.fromIndex(v, request.getPrompt(), callerIds(request), model);
            return Interventions.withIntervention(v, Interventions.of(v, strength, from, sae, "id"));
        });
    }

    /** The prompt's ids as the caller tokenized them (null: it did not), so that the prompt is not tokenized twice. */
    private static int[] callerIds(GetVectorRequest request) {
        if (!request.hasPromptTokens() || request.getPromptTokens().getIdsCount() == 0) return null;
        return request.getPromptTokens().getIdsList().stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public void listVectors(ListVectorsRequest request, StreamObserver<ListVectorsResponse> out) {
        answer(out, () -> {
            if (request.getMethod() == VectorMethod.UNRECOGNIZED) throw Errors.invalid("method", "unknown method value");
            ListVectorsResponse.Builder b = ListVectorsResponse.newBuilder();
            for (SteeringVector v : vectors.list(request.getIncludeData())) {
                if (!request.getModelId().isEmpty() && !request.getModelId().equals(v.getModelId())) continue;
                if (request.getMethod() != VectorMethod.VECTOR_METHOD_UNSPECIFIED && request.getMethod() != v.getMethod()) continue;
                b.addVectors(v);
            }
            return b.build();
        });
    }

    @Override
    public void deleteVector(DeleteVectorRequest request, StreamObserver<DeleteVectorResponse> out) {
        answer(out, () -> {
            String id = checkId(request.getId(), "id");
            if (!vectors.delete(id)) throw Errors.notFound("vector '" + id + "' does not exist");
            return DeleteVectorResponse.getDefaultInstance();
        });
    }

    @Override
    public void exportVector(ExportVectorRequest request, StreamObserver<ExportVectorResponse> out) {
        answer(out, () -> {
            String id = checkId(request.getId(), "id");
            SteeringVector v = vectors.get(id);
            if (v == null) throw Errors.notFound("vector '" + id + "' does not exist");
            VectorFileFormat format = request.getFormat() == VectorFileFormat.VECTOR_FILE_FORMAT_UNSPECIFIED
                    ? VectorFileFormat.VECTOR_FILE_FORMAT_SAFETENSORS : request.getFormat();
            ExportVectorResponse.Builder b = ExportVectorResponse.newBuilder().setFormat(format);
            switch (format) {
                case VECTOR_FILE_FORMAT_SAFETENSORS -> b.setData(ByteString.copyFrom(VectorFiles.toSafetensors(v))).setFileName(id + ".safetensors");
                case VECTOR_FILE_FORMAT_GGUF -> {
                    if (v.getKind() != InterventionKind.ADD) {
                        throw Errors.invalid("format", "vector '" + id + "' is applied as " + v.getKind() + "; llama.cpp control "
                                + "vectors only add a direction, so only ADD vectors export to GGUF (safetensors keeps the tensor)");
                    }
                    if (v.getVector().getShapeCount() == 2 && v.getVector().getShape(0) > 1) {
                        throw Errors.invalid("format", "vector '" + id + "' has " + v.getVector().getShape(0) + " rows (PROMPT_FRONT, ActAdd); "
                                + "a llama.cpp control vector holds one row per layer, added at every position");
                    }
                    int nLayers = Integer.parseInt(v.getMetadataOrDefault("n_layers", Integer.toString(model.info().getNLayers())));
                    int layer;
                    try {
                        layer = VectorFiles.ggufLayerOf(v.getHook().getName(), nLayers);
                    } catch (IllegalArgumentException e) {
                        throw Errors.invalid("format", e.getMessage());
                    }
                    double scale = request.hasScale() ? request.getScale() : v.getDefaultScale();
                    if (!Double.isFinite(scale) || Math.abs(scale) > 1e6) throw Errors.invalid("scale", scale + " is outside [-1e6, 1e6]");
                    float[] data = TensorCodec.toFloats(v.getVector());
                    float[] scaled = new float[data.length];
                    for (int i = 0; i < data.length; i++) scaled[i] = (float) (scale * data[i]);
                    String hint = v.getMetadataOrDefault("architecture", "llama");
                    b.setData(ByteString.copyFrom(VectorFiles.toGguf(scaled, layer, hint, Map.of(
                            "steering.vector_id", id, "steering.model_id", v.getModelId(), "steering.hook", v.getHook().getName(),
                            "steering.method", v.getMethod().name(), "steering.scale", Double.toString(scale)))))
                            .setFileName(id + ".gguf");
                    if (v.getPositions() == PositionPolicy.FROM_INDEX) {
                        b.addWarnings("llama.cpp adds control vectors at every position; this vector's FROM_INDEX policy "
                                + "(from the instruction end on) is not kept");
                    }
                    if (v.getHook().getName().endsWith("hook_resid_pre")) {
                        b.addWarnings(v.getHook().getName() + " is written as direction." + layer + " (the output of block " + layer + ")");
                    }
                }
                default -> throw Errors.invalid("format", "unknown format; use VECTOR_FILE_FORMAT_SAFETENSORS or VECTOR_FILE_FORMAT_GGUF");
            }
            return b.build();
        });
    }

    // ------------------------------------------------------------------------------------------------------------
    // Long-running work
    // ------------------------------------------------------------------------------------------------------------

    @Override
    public void startCalibrateScale(CalibrateScaleRequest request, StreamObserver<Operation> out) {
        answer(out, () -> {
            SteeringVector v = ArtifactStore.validId(request.getVectorId()) ? vectors.get(request.getVectorId()) : null;
            if (v != null && v.getKind() != InterventionKind.ADD) {
                throw Errors.invalid("vector_id", "vector '" + v.getId() + "' is applied as " + v.getKind()
                        + "; calibration sweeps the scale of ADD vectors");
            }
            return operations.start("CalibrateScale", calibrator.prepare(request, builder));
        });
    }

    @Override
    public void startTrainEffectApproximator(TrainEffectApproximatorRequest request, StreamObserver<Operation> out) {
        answer(out, () -> {
            ApproximatorTrainer.Job job = trainer.job(request, builder);
            return operations.start("TrainEffectApproximator", job.request(), job.task());
        });
    }

    @Override
    public void getEffectApproximator(GetEffectApproximatorRequest request, StreamObserver<EffectApproximatorInfo> out) {
        answer(out, () -> {
            String id = checkId(request.getId(), "id");
            EffectApproximatorInfo i = approximators.info(id);
            if (i == null) throw Errors.notFound("effect approximator '" + id + "' does not exist");
            return i;
        });
    }

    @Override
    public void listEffectApproximators(ListEffectApproximatorsRequest request, StreamObserver<ListEffectApproximatorsResponse> out) {
        answer(out, () -> {
            List<EffectApproximatorInfo> all = new ArrayList<>();
            for (EffectApproximatorInfo i : approximators.list()) {
                if (!request.getModelId().isEmpty() && !request.getModelId().equals(i.getModelId())) continue;
                if (!request.getSaeId().isEmpty() && !request.getSaeId().equals(i.getSaeId())) continue;
                all.add(i);
            }
            return ListEffectApproximatorsResponse.newBuilder().addAllApproximators(all).build();
        });
    }

    @Override
    public void deleteEffectApproximator(DeleteEffectApproximatorRequest request, StreamObserver<DeleteEffectApproximatorResponse> out) {
        answer(out, () -> {
            String id = checkId(request.getId(), "id");
            if (!approximators.delete(id)) throw Errors.notFound("effect approximator '" + id + "' does not exist");
            return DeleteEffectApproximatorResponse.getDefaultInstance();
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
}
