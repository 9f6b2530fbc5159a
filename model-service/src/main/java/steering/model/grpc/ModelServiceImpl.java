package steering.model.grpc;

import com.google.protobuf.ByteString;
import io.smallrye.common.annotation.Blocking;
import io.grpc.BindableService;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import steering.common.grpc.Errors;
import steering.common.steer.SamplingChecks;
import steering.common.grpc.RequestValidation;
import steering.common.tensor.TensorCodec;
import steering.model.engine.Conditional;
import steering.model.engine.GenerationEngine;
import steering.model.engine.GenerationListener;
import steering.model.engine.GenerationRequest;
import steering.model.engine.TokenLogprobs;
import steering.model.loader.LoadedModel;
import steering.model.runtime.ForwardResult;
import steering.model.runtime.ForwardStep;
import steering.common.steer.HookPoint;
import steering.model.runtime.Intervention;
import steering.model.runtime.ModelConfig;
import steering.model.runtime.VectorGradients;
import steering.model.tokenizer.TextTokenizer;
import steering.v1.*;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * The gRPC face of model-service: validates requests, maps them to the runtime and streams results back. Holds no
 * model logic and no framework types, so tests serve it from a plain grpc-java server.
 */
// Quarkus takes the execution model of an inherited RPC method from the class that declares it, so @Blocking
// belongs here (on the Quarkus subclass it would cover no method): the handlers wait on the engine or on other
// services and must run on worker threads, not on the Vert.x event loop. Plain grpc-java servers ignore it.
@Blocking
public class ModelServiceImpl implements ModelServiceGrpc.AsyncService, BindableService {
    /** The service's methods behind the mesh's wire checks: invalid UTF-8, unknown enum numbers, bytes that are no request. */
    @Override
    public final ServerServiceDefinition bindService() {
        return RequestValidation.validated(ModelServiceGrpc.bindService(this));
    }

    static final int DEFAULT_MAX_TOKENS = 64;

    private final Supplier<GenerationEngine> engineSupplier;
    private final int maxRequestTokens;
    private final int maxTextBytes;
    private volatile GenerationEngine engine;
    private LoadedModel model;
    private ModelConfig cfg;
    private RequestMapper mapper;

    public ModelServiceImpl(GenerationEngine engine, int maxRequestTokens) {
        this(() -> engine, maxRequestTokens);
    }

    /**
     * @param engineSupplier returns the engine, or null while the model is still loading (calls then get UNAVAILABLE)
     */
    public ModelServiceImpl(Supplier<GenerationEngine> engineSupplier, int maxRequestTokens) {
        this(engineSupplier, maxRequestTokens, 0);
    }

    /**
     * @param maxTextBytes the most UTF-8 bytes one text field may hold; 0 = 32 per token a request may hold
     *                     ({@link RequestMapper#TEXT_BYTES_PER_TOKEN})
     */
    public ModelServiceImpl(Supplier<GenerationEngine> engineSupplier, int maxRequestTokens, int maxTextBytes) {
        this.engineSupplier = engineSupplier;
        this.maxRequestTokens = maxRequestTokens;
        this.maxTextBytes = maxTextBytes;
    }

    /** Binds to the engine on first use; the model may still be loading when the gRPC server starts. */
    private void ready() {
        if (engine != null) return;
        synchronized (this) {
            if (engine != null) return;
            GenerationEngine e = engineSupplier.get();
            if (e == null) throw Errors.unavailable("the model is still loading; retry shortly");
            model = e.model();
            cfg = model.config();
            mapper = new RequestMapper(model, Math.min(maxRequestTokens, cfg.contextLength()), maxTextBytes);
            engine = e;
        }
    }

    @Override
    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
        try {
            ready();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
            return;
        }
        out.onNext(ModelInfo.newBuilder()
                .setModelId(cfg.modelId())
                .setArchitecture(cfg.architecture())
                .setDModel(cfg.dModel())
                .setNLayers(cfg.nLayers())
                .setNHeads(cfg.nHeads())
                .setNKvHeads(cfg.nKvHeads())
                .setVocabSize(cfg.vocabSize())
                .setContextLength(cfg.contextLength())
                .addAllHookPoints(HookPoint.allNames(cfg.nLayers()))
                .setDtype("float32")
                .setDevice("cpu")
                .setSourceFormat(cfg.sourceFormat())
                .setWeightsType(cfg.weightsType())
                .setBosTokenId(cfg.bosTokenId())
                .addAllEosTokenIds(cfg.eosTokenIds())
                .setHasChatTemplate(model.chatTemplate() != null)
                .setMaxRequestTokens(mapper.maxRequestTokens())
                .setMaxBatchSize(engine.maxBatch())
                .build());
        out.onCompleted();
    }

    @Override
    public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> out) {
        try {
            ready();
            int[] ids = mapper.promptIds(request.getPrompt(), "prompt", true);
            TokenizeResponse.Builder b = TokenizeResponse.newBuilder();
            for (int id : ids) {
                b.addIds(id);
                b.addTokens(model.tokenizer().decode(new int[]{id}, false));
            }
            out.onNext(b.build());
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    @Override
    public void detokenize(DetokenizeRequest request, StreamObserver<DetokenizeResponse> out) {
        try {
            ready();
            RequestMapper.checkCount(request.getIdsCount(), mapper.maxRequestTokens(), "ids", "token ids");
            int[] ids = request.getIdsList().stream().mapToInt(Integer::intValue).toArray();
            for (int i = 0; i < ids.length; i++) {
                if (ids[i] < 0 || ids[i] >= cfg.vocabSize()) {
                    throw Errors.invalid("ids[" + i + "]", "token id " + ids[i] + " is out of range [0, " + (cfg.vocabSize() - 1) + "]");
                }
            }
            out.onNext(DetokenizeResponse.newBuilder()
                    .setText(model.tokenizer().decode(ids, request.getSkipSpecialTokens())).build());
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    @Override
    public void generate(GenerateRequest request, StreamObserver<GenerateResponse> out) {
        ServerCallStreamObserver<GenerateResponse> call = (ServerCallStreamObserver<GenerateResponse>) out;
        GenerationRequest job;
        try {
            ready();
            job = generationRequest(request);
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
            return;
        }
        StreamingListener listener = new StreamingListener(call, job.promptIds(), engine.model().tokenizer());
        try {
            GenerationEngine.Handle handle = engine.generate(job, listener);
            call.setOnCancelHandler(handle::cancel);
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    GenerationRequest generationRequest(GenerateRequest request) {
        mapper.checkStops(request.getSampling().getStopList(), "sampling.stop");
        int[] prompt = mapper.promptIds(request.getPrompt(), "prompt", false);
        SamplingParams s = request.getSampling();
        int room = mapper.maxRequestTokens() - prompt.length;
        SamplingChecks.check(s, "sampling", cfg.vocabSize());
        if (room < 1) throw Errors.invalid("prompt", "the prompt leaves no room for new tokens");
        // as the contract says: capped by what the request may hold after the prompt (the context and the service limit)
        int maxTokens = Math.min(s.getMaxTokens() == 0 ? DEFAULT_MAX_TOKENS : s.getMaxTokens(), room);
        long seed = s.hasSeed() ? s.getSeed() : ThreadLocalRandom.current().nextLong();
        RequestMapper.Generation interventions = mapper.generation(request.getInterventionsList(), prompt.length);
        return new GenerationRequest(prompt, maxTokens, s.getTemperature(), s.getTopK(), s.getTopP(), seed,
                List.copyOf(s.getStopList()), s.getIgnoreEos(), interventions.always(),
                s.getLogprobs() ? s.getTopLogprobs() : -1, interventions.conditionals());
    }

    @Override
    public void score(ScoreRequest request, StreamObserver<ScoreResponse> out) {
        try {
            ready();
            Scored text = scored(request.getPrompt(), request.hasContinuationText() ? request.getContinuationText() : null,
                    request.hasContinuationTokens() ? request.getContinuationTokens() : null, "");
            int[] prompt = text.prompt();
            int[] continuation = text.continuation();
            List<Intervention> interventions = mapper.interventions(request.getInterventionsList(), prompt.length);
            ForwardResult r = engine.forward(List.of(new ForwardStep(text.all(), 0, -1, interventions, prompt.length - 1, Set.of())))
                    .join().get(0);
            ScoreResponse.Builder b = ScoreResponse.newBuilder().setPromptTokens(prompt.length);
            double totalLogprob = 0;
            int vocab = cfg.vocabSize();
            for (int i = 0; i < continuation.length; i++) {
                int offset = i * vocab;
                float lp = logSoftmaxAt(r.logits(), offset, vocab, continuation[i]);
                totalLogprob += lp;
                b.addTokenIds(continuation[i]).addLogprobs(lp)
                        .addGreedyTokenIds(steering.model.engine.Sampler.argmax(r.logits(), offset, vocab));
            }
            out.onNext(b.setTotalLogprob(totalLogprob).build());
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    /** A scored example's tokens: the prompt (BOS alone when empty) and the continuation after it. */
    private record Scored(int[] prompt, int[] continuation) {
        int[] all() {
            int[] all = java.util.Arrays.copyOf(prompt, prompt.length + continuation.length);
            System.arraycopy(continuation, 0, all, prompt.length, continuation.length);
            return all;
        }
    }

    /** Score's and ScoreGradients' prompt + continuation; {@code prefix} names the example in error messages. */
    private Scored scored(Prompt promptMessage, String continuationText, TokenIds continuationTokens, String prefix) {
        if (continuationText != null) mapper.checkText(continuationText, prefix + "continuation_text");
        int[] prompt = mapper.promptIds(promptMessage, prefix + "prompt", true);
        if (prompt.length == 0) {
            if (cfg.bosTokenId() < 0) throw Errors.invalid(prefix + "prompt", "this model has no BOS token, so the prompt must not be empty");
            prompt = new int[]{cfg.bosTokenId()};
        }
        int[] continuation = continuationText != null ? model.tokenizer().encode(continuationText, false)
                : continuationTokens != null ? continuationIds(continuationTokens, prefix + "continuation_tokens")
                : new int[0];
        if (continuation.length == 0) throw Errors.invalid(prefix + "continuation", "the continuation is empty: nothing to score");
        int total = prompt.length + continuation.length;
        if (total > mapper.maxRequestTokens()) {
            throw Errors.invalid(prefix + "continuation", "prompt + continuation have " + total + " tokens, the limit is " + mapper.maxRequestTokens());
        }
        return new Scored(prompt, continuation);
    }

    private int[] continuationIds(TokenIds tokens, String field) {
        mapper.checkLength(tokens.getIdsCount(), field);
        return mapper.tokenIds(tokens, field);
    }

    /** ScoreGradients' bounds: the autograd graph of 4,096 tokens on SmolLM2 stays near 1 GB (docs/model-service.md). */
    static final int MAX_GRADIENT_EXAMPLES = 64;
    static final int MAX_GRADIENT_TOKENS = 4096;

    @Override
    public void scoreGradients(ScoreGradientsRequest request, StreamObserver<ScoreGradientsResponse> out) {
        try {
            ready();
            int n = request.getExamplesCount();
            if (n == 0) throw Errors.invalid("examples", "at least one example is required");
            RequestMapper.checkCount(n, MAX_GRADIENT_EXAMPLES, "examples", "examples");
            List<Integer> trainable = trainableIndices(request);
            List<VectorGradients.Example> examples = new ArrayList<>(n);
            int tokens = 0;
            for (int i = 0; i < n; i++) {
                GradientExample ex = request.getExamples(i);
                String prefix = "examples[" + i + "].";
                Scored text = scored(ex.getPrompt(), ex.hasContinuationText() ? ex.getContinuationText() : null,
                        ex.hasContinuationTokens() ? ex.getContinuationTokens() : null, prefix);
                tokens += text.prompt().length + text.continuation().length;
                if (tokens > MAX_GRADIENT_TOKENS) {
                    throw Errors.invalid("examples", "the examples up to examples[" + i + "] hold " + tokens
                            + " tokens, the limit is " + MAX_GRADIENT_TOKENS);
                }
                double multiplier = ex.hasMultiplier() ? ex.getMultiplier() : 1.0;
                if (!Double.isFinite(multiplier)) throw Errors.invalid(prefix + "multiplier", multiplier + " is not finite");
                List<Intervention> all = mapper.interventions(request.getInterventionsList(), text.prompt().length);
                List<Intervention> fixed = new ArrayList<>();
                for (int j = 0; j < all.size(); j++) if (!trainable.contains(j)) fixed.add(all.get(j));
                List<Intervention> trained = new ArrayList<>(); // in the order of `trainable`
                for (int j : trainable) trained.add(all.get(j));
                examples.add(new VectorGradients.Example(text.all(), text.prompt().length, fixed, trained, (float) multiplier));
            }
            VectorGradients.Result r = engine.run(tokens, m -> VectorGradients.compute(m, examples)).join();
            ScoreGradientsResponse.Builder b = ScoreGradientsResponse.newBuilder();
            int d = cfg.dModel();
            double[][] sums = new double[trainable.size()][d];
            for (int i = 0; i < n; i++) {
                VectorGradients.Example ex = examples.get(i);
                ExampleGradients.Builder eb = ExampleGradients.newBuilder().setPromptTokens(ex.promptLength());
                double total = 0;
                for (int t = 0; t < r.logprobs()[i].length; t++) {
                    eb.addTokenIds(ex.tokens()[ex.promptLength() + t]).addLogprobs(r.logprobs()[i][t]);
                    total += r.logprobs()[i][t];
                }
                for (int j = 0; j < trainable.size(); j++) {
                    float[] g = r.gradients()[j][i];
                    for (int c = 0; c < d; c++) sums[j][c] += g[c];
                    eb.addGradients(TensorCodec.ofFloats(g, d));
                }
                b.addExamples(eb.setTotalLogprob(total));
            }
            for (double[] sum : sums) {
                float[] f = new float[d];
                for (int c = 0; c < d; c++) f[c] = (float) sum[c];
                b.addSummedGradients(TensorCodec.ofFloats(f, d));
            }
            out.onNext(b.build());
            out.onCompleted();
        } catch (Throwable t) {
            out.onError(Errors.toStatus(t));
        }
    }

    /** The request's trainable interventions: distinct, in range, ADDs of one [d_model] row. */
    private List<Integer> trainableIndices(ScoreGradientsRequest request) {
        if (request.getTrainableCount() == 0) {
            throw Errors.invalid("trainable", "no intervention is marked trainable: name at least one index into interventions");
        }
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < request.getTrainableCount(); i++) {
            int j = request.getTrainable(i);
            String field = "trainable[" + i + "]";
            if (j < 0 || j >= request.getInterventionsCount()) {
                throw Errors.invalid(field, j + " is outside [0, " + (request.getInterventionsCount() - 1) + "] (the interventions' indices)");
            }
            if (out.contains(j)) throw Errors.invalid(field, "intervention " + j + " is named twice");
            steering.v1.Intervention iv = request.getInterventions(j);
            if (iv.getKind() != InterventionKind.ADD) {
                throw Errors.invalid("interventions[" + j + "].kind", "a trainable intervention must be an ADD, got " + iv.getKind());
            }
            if (iv.getVector().getShapeCount() != 1) {
                throw Errors.invalid("interventions[" + j + "].vector.shape", "a trainable vector must be [d_model] (one row)");
            }
            out.add(j);
        }
        return out;
    }

    static float logSoftmaxAt(float[] logits, int offset, int vocab, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) max = Math.max(max, logits[offset + j]);
        double sum = 0;
        for (int j = 0; j < vocab; j++) sum += Math.exp(logits[offset + j] - max);
        return (float) (logits[offset + token] - max - Math.log(sum));
    }

    @Override
    public void captureActivations(CaptureActivationsRequest request, StreamObserver<CaptureActivationsResponse> out) {
        ServerCallStreamObserver<CaptureActivationsResponse> call = (ServerCallStreamObserver<CaptureActivationsResponse>) out;
        try {
            ready();
            if (request.getInputsCount() == 0) throw Errors.invalid("inputs", "at least one input is required");
            mapper.checkInputs(request.getInputsList(), "inputs");
            List<HookPoint> hooks = mapper.hooks(request.getHooksList(), "hooks");
            List<int[]> inputs = new ArrayList<>();
            for (int i = 0; i < request.getInputsCount(); i++) inputs.add(mapper.promptIds(request.getInputs(i), "inputs[" + i + "]", false));
            PositionSelection sel = request.getSelection();
            if (sel.getFromIndex() < 0) throw Errors.invalid("selection.from_index", sel.getFromIndex() + " must be >= 0");
            RequestMapper.checkCount(sel.getPositionsCount(), mapper.maxRequestTokens(), "selection.positions", "positions");
            boolean mean = request.getReduction() == Reduction.MEAN;
            // validate every input before any work, so a bad one fails the call up front
            List<List<Integer>> selected = new ArrayList<>();
            List<List<Intervention>> interventions = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                selected.add(selectPositions(inputs.get(i), sel, "inputs[" + i + "]"));
                interventions.add(mapper.interventions(request.getInterventionsList(), inputs.get(i).length));
            }
            Set<HookPoint> hookSet = new LinkedHashSet<>(hooks);
            for (int i = 0; i < inputs.size(); i++) {
                if (call.isCancelled()) return;
                int[] ids = inputs.get(i);
                ForwardResult r = engine.forward(List.of(new ForwardStep(ids, 0, -1, interventions.get(i), ids.length, hookSet)))
                        .join().get(0);
                for (HookPoint h : hooks) {
                    out.onNext(captureMessage(i, h, ids, selected.get(i), r.captured().get(h), mean));
                }
            }
            out.onCompleted();
        } catch (Throwable t) {
            if (!call.isCancelled()) out.onError(Errors.toStatus(t));
        }
    }

    private static List<Integer> selectPositions(int[] ids, PositionSelection sel, String field) {
        List<Integer> positions = new ArrayList<>();
        if (sel.getPositionsCount() > 0) {
            for (int j = 0; j < sel.getPositionsCount(); j++) {
                int p = sel.getPositions(j);
                int abs = p < 0 ? ids.length + p : p;
                if (abs < 0 || abs >= ids.length) {
                    throw Errors.invalid("selection.positions[" + j + "]", p + " is outside [" + (-ids.length) + ", "
                            + (ids.length - 1) + "] for " + field + " (" + ids.length + " tokens)");
                }
                positions.add(abs);
            }
        } else {
            for (int p = sel.getFromIndex(); p < ids.length; p++) positions.add(p);
        }
        if (sel.getExcludeBos()) positions.removeIf(p -> p == 0);
        if (positions.isEmpty()) throw Errors.invalid("selection", "selects no position of " + field + " (" + ids.length + " tokens)");
        return positions;
    }

    private CaptureActivationsResponse captureMessage(int index, HookPoint hook, int[] ids, List<Integer> positions,
                                                      float[] rows, boolean mean) {
        int d = cfg.dModel();
        float[] data;
        Tensor tensor;
        if (mean) {
            double[] acc = new double[d];
            for (int p : positions) for (int j = 0; j < d; j++) acc[j] += rows[p * d + j];
            data = new float[d];
            for (int j = 0; j < d; j++) data[j] = (float) (acc[j] / positions.size());
            tensor = TensorCodec.ofFloats(data, d);
        } else {
            data = new float[positions.size() * d];
            for (int k = 0; k < positions.size(); k++) System.arraycopy(rows, positions.get(k) * d, data, k * d, d);
            tensor = TensorCodec.ofFloats(data, positions.size(), d);
        }
        CaptureActivationsResponse.Builder b = CaptureActivationsResponse.newBuilder()
                .setInputIndex(index).setHook(hook.name()).setActivations(tensor).addAllPositions(positions);
        for (int id : ids) b.addTokenIds(id);
        return b.build();
    }

    /** Streams a generation to one client; engine callbacks arrive on the engine thread, one at a time. */
    private static final class StreamingListener implements GenerationListener {
        private final ServerCallStreamObserver<GenerateResponse> call;
        private final int[] promptIds;
        private final TextTokenizer tokenizer;
        private final List<ConditionResult> conditions = new ArrayList<>(); // sent with the first message
        private boolean first = true;

        StreamingListener(ServerCallStreamObserver<GenerateResponse> call, int[] promptIds, TextTokenizer tokenizer) {
            this.call = call;
            this.promptIds = promptIds;
            this.tokenizer = tokenizer;
        }

        private GenerateResponse.Builder builder() {
            GenerateResponse.Builder b = GenerateResponse.newBuilder();
            if (first) {
                for (int id : promptIds) b.addPromptTokenIds(id);
                b.addAllConditions(conditions);
                first = false;
            }
            return b;
        }

        @Override
        public void onConditions(List<Conditional.Result> results) {
            for (Conditional.Result r : results) {
                conditions.add(ConditionResult.newBuilder().setIntervention(r.index()).setCosine(r.cosine()).setMet(r.met()).build());
            }
        }

        @Override
        public void onToken(int tokenId, String textDelta) {
            onToken(tokenId, textDelta, null);
        }

        @Override
        public void onToken(int tokenId, String textDelta, TokenLogprobs logprobs) {
            if (call.isCancelled()) return;
            GenerateResponse.Builder b = builder().addTokenIds(tokenId).setTextDelta(textDelta);
            if (logprobs != null) {
                String token = tokenizer.decode(new int[]{tokenId}, false);
                TokenLogprob.Builder lp = TokenLogprob.newBuilder().setTokenId(tokenId).setLogprob(logprobs.logprob())
                        .setToken(token).setBytes(ByteString.copyFromUtf8(token));
                for (int i = 0; i < logprobs.topIds().length; i++) {
                    String alt = tokenizer.decode(new int[]{logprobs.topIds()[i]}, false);
                    lp.addTop(TopLogprob.newBuilder().setTokenId(logprobs.topIds()[i]).setLogprob(logprobs.topLogprobs()[i])
                            .setToken(alt).setBytes(ByteString.copyFromUtf8(alt)));
                }
                b.addLogprobs(lp);
            }
            call.onNext(b.build());
        }

        @Override
        public void onFinish(FinishReason reason, String textDelta, int promptTokens, int completionTokens) {
            if (call.isCancelled()) return;
            steering.v1.FinishReason wire = switch (reason) {
                case LENGTH -> steering.v1.FinishReason.FINISH_REASON_LENGTH;
                case EOS -> steering.v1.FinishReason.FINISH_REASON_EOS;
                case STOP_STRING -> steering.v1.FinishReason.FINISH_REASON_STOP_STRING;
                case CANCELLED -> steering.v1.FinishReason.FINISH_REASON_CANCELLED;
            };
            call.onNext(builder().setTextDelta(textDelta).setFinishReason(wire)
                    .setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(completionTokens)).build());
            call.onCompleted();
        }

        @Override
        public void onError(Throwable error) {
            if (!call.isCancelled()) call.onError(Errors.toStatus(error));
        }
    }
}
