package steering.gateway.playground;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import steering.common.grpc.Errors;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.grpc.TokenizedPrompt;
import steering.gateway.mesh.MeshClients;
import steering.gateway.openai.OpenAiCompat;
import steering.v1.FinishReason;
import steering.v1.GenerateRequest;
import steering.v1.GenerateResponse;
import steering.v1.Intervention;
import steering.v1.Prompt;
import steering.v1.SamplingParams;
import steering.v1.SteeringSpec;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The playground's main view: one prompt generated twice with the same sampling and seed, without and with the
 * steering, both streamed at once (model-service decodes them in one batch), so that the columns differ only
 * because of the vector.
 */
public final class SideBySide {
    public enum Column {
        UNSTEERED, STEERED;

        String json() {
            return name().toLowerCase();
        }
    }

    /** Receives the stream's events: start, token, done, error, end. */
    public interface Sink {
        void send(String event, ObjectNode data) throws IOException;
    }

    private final MeshClients mesh;
    private final SteeringResolver resolver;
    private final long deadlineSeconds;

    public SideBySide(MeshClients mesh, SteeringResolver resolver, long deadlineSeconds) {
        this.mesh = mesh;
        this.resolver = resolver;
        this.deadlineSeconds = deadlineSeconds;
    }

    /**
     * Checks the request, resolves its steering, starts both generations and waits for each one's first message, so
     * that a refused request fails here (an HTTP error) rather than in the middle of a 200 stream.
     * Body: {prompt, chat?, steering: [SteeringSpec JSON], max_tokens?, temperature?, top_p?, seed?}.
     */
    public Run start(JsonNode body) {
        PlaygroundJson.requireObject(body);
        Prompt prompt = PlaygroundInputs.prompt(body);
        SamplingParams sampling = PlaygroundInputs.sampling(body, 48, 0.8, null);
        List<SteeringSpec> specs = OpenAiCompat.steeringSpecs(body.get("steering"), "steering");
        if (specs.isEmpty()) throw Errors.invalid("steering", "at least one SteeringSpec is required (it steers the right-hand column)");
        TokenizedPrompt tokens = PlaygroundInputs.checkPrompt(mesh, prompt, deadlineSeconds);
        List<Intervention> interventions = PlaygroundInputs.resolve(resolver, specs, tokens);
        GenerateRequest plain = GenerateRequest.newBuilder().setPrompt(tokens.forGeneration()).setSampling(sampling).build();
        Run run = new Run(sampling.getSeed(), interventions);
        run.launch(Column.UNSTEERED, plain);
        run.launch(Column.STEERED, plain.toBuilder().addAllInterventions(interventions).build());
        run.awaitFirstMessages();
        return run;
    }

    private record Event(Column column, GenerateResponse response, Throwable error) {
        boolean last() {
            return response == null;
        }
    }

    /** Two generations in flight; {@link #stream} relays them as they come and {@link #cancel} stops both. */
    public final class Run {
        private final long seed;
        private final List<Intervention> interventions;
        private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        private final Deque<Event> buffered = new ArrayDeque<>();
        private final Map<Column, ClientCallStreamObserver<GenerateRequest>> calls = new EnumMap<>(Column.class);

        private Run(long seed, List<Intervention> interventions) {
            this.seed = seed;
            this.interventions = interventions;
        }

        public long seed() {
            return seed;
        }

        private void launch(Column column, GenerateRequest request) {
            mesh.model().withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS).generate(request, new ClientResponseObserver<GenerateRequest, GenerateResponse>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<GenerateRequest> call) {
                    synchronized (calls) {
                        calls.put(column, call);
                    }
                }

                @Override
                public void onNext(GenerateResponse r) {
                    events.add(new Event(column, r, null));
                }

                @Override
                public void onError(Throwable t) {
                    events.add(new Event(column, null, t));
                }

                @Override
                public void onCompleted() {
                    events.add(new Event(column, null, null));
                }
            });
        }

        private void awaitFirstMessages() {
            java.util.Set<Column> heard = java.util.EnumSet.noneOf(Column.class);
            try {
                while (heard.size() < Column.values().length) {
                    Event e = events.take();
                    if (e.error() != null) {
                        cancel();
                        throw PlaygroundInputs.restated(Errors.toStatus(e.error()));
                    }
                    heard.add(e.column());
                    buffered.add(e);
                }
            } catch (InterruptedException ie) {
                cancel();
                Thread.currentThread().interrupt();
                throw Errors.unavailable("interrupted while waiting for model-service");
            }
        }

        /** Relays both generations to the sink until both have ended; a sink that fails (client gone) cancels them. */
        public void stream(Sink sink) throws IOException {
            try {
                sink.send("start", startEvent());
                int open = Column.values().length;
                while (open > 0) {
                    Event e = buffered.isEmpty() ? events.take() : buffered.poll();
                    if (e.error() != null) {
                        ObjectNode data = PlaygroundJson.error(PlaygroundInputs.restated(Errors.toStatus(e.error())));
                        data.put("column", e.column().json());
                        sink.send("error", data);
                        open--;
                    } else if (e.last()) {
                        open--;
                    } else {
                        sink.send("token", token(e));
                    }
                }
                sink.send("end", PlaygroundJson.JSON.createObjectNode());
            } catch (IOException | RuntimeException ex) {
                cancel();
                throw ex;
            } catch (InterruptedException ie) {
                cancel();
                Thread.currentThread().interrupt();
            }
        }

        public void cancel() {
            synchronized (calls) {
                calls.values().forEach(c -> c.cancel("the playground request ended", null));
            }
        }

        private ObjectNode startEvent() {
            ObjectNode start = PlaygroundJson.JSON.createObjectNode();
            start.put("seed", seed);
            ArrayNode steering = start.putArray("steering");
            // what the steered column gets, without the tensor's bytes
            for (Intervention iv : interventions) steering.add(PlaygroundJson.proto(iv.toBuilder().clearVector()));
            return start;
        }

        private static ObjectNode token(Event e) {
            GenerateResponse r = e.response();
            ObjectNode data = PlaygroundJson.JSON.createObjectNode();
            data.put("column", e.column().json());
            data.put("text", r.getTextDelta());
            data.put("tokens", r.getTokenIdsCount());
            if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
                data.put("finish_reason", OpenAiCompat.finishReason(r.getFinishReason()));
                data.put("completion_tokens", r.getUsage().getCompletionTokens());
            }
            return data;
        }
    }
}
