package steering.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.Errors;
import steering.common.steer.SamplingChecks;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.grpc.TokenizedPrompt;
import steering.v1.*;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;

/**
 * The OpenAI-compatible API's logic, without HTTP: requests in the OpenAI shape (plus an optional "steering" array
 * of SteeringSpec in proto JSON form) become model-service Generate requests; results come back as OpenAI JSON.
 */
public final class OpenAiCompat {
    public enum Kind { CHAT, COMPLETION }

    static final ObjectMapper JSON = new ObjectMapper();
    private final SteeringResolver resolver;

    /** @param resolver resolves the optional "steering" field (registry vectors need its mesh) */
    public OpenAiCompat(SteeringResolver resolver) {
        this.resolver = resolver;
    }

    /** A parsed request: the downstream Generate call and what the response needs to echo. */
    public record Parsed(GenerateRequest request, String model, boolean stream, String id, long created, Kind kind) {}

    public Parsed parse(JsonNode body, Kind kind, String servedModel) {
        if (body == null || !body.isObject()) throw Errors.invalid("body", "a JSON object is required");
        Prompt.Builder prompt = Prompt.newBuilder();
        if (kind == Kind.CHAT) {
            JsonNode messages = body.get("messages");
            if (messages == null || !messages.isArray() || messages.isEmpty()) {
                throw Errors.invalid("messages", "a non-empty array of {role, content} is required");
            }
            ChatMessages.Builder chat = ChatMessages.newBuilder();
            for (int i = 0; i < messages.size(); i++) {
                JsonNode m = messages.get(i);
                chat.addMessages(ChatMessage.newBuilder().setRole(m.path("role").asText()).setContent(content(m.get("content"), i)));
            }
            prompt.setChat(chat);
        } else {
            JsonNode p = body.get("prompt");
            if (p == null || !(p.isTextual() || (p.isArray() && p.size() == 1 && p.get(0).isTextual()))) {
                throw Errors.invalid("prompt", "a string (or an array with one string) is required");
            }
            prompt.setText(p.isTextual() ? p.asText() : p.get(0).asText());
        }
        SamplingParams.Builder sampling = SamplingParams.newBuilder();
        int maxTokens = body.has("max_completion_tokens") ? body.get("max_completion_tokens").asInt()
                : body.path("max_tokens").asInt(kind == Kind.COMPLETION ? 16 : 0);
        if (maxTokens < 0) throw Errors.invalid("max_tokens", maxTokens + " must be >= 0");
        sampling.setMaxTokens(maxTokens);
        // OpenAI's default temperature is 1 (sampling); 0 means greedy in both APIs
        sampling.setTemperature((float) body.path("temperature").asDouble(1.0));
        if (body.has("top_p")) sampling.setTopP((float) body.get("top_p").asDouble());
        if (body.has("seed") && !body.get("seed").isNull()) sampling.setSeed(body.get("seed").asLong());
        JsonNode stop = body.get("stop");
        if (stop != null && stop.isTextual()) sampling.addStop(stop.asText());
        if (stop != null && stop.isArray()) stop.forEach(s -> sampling.addStop(s.asText()));
        int n = body.path("n").asInt(1);
        if (n != 1) throw Errors.invalid("n", n + " is not supported; only n = 1");
        logprobs(body, kind, sampling);
        SamplingChecks.check(sampling.build(), "", 0); // model-service's ranges, under the OpenAI request's names

        GenerateRequest.Builder req = GenerateRequest.newBuilder().setPrompt(prompt).setSampling(sampling);
        List<SteeringSpec> specs = steeringSpecs(body.get("steering"), "steering");
        if (!specs.isEmpty()) {
            // a registry vector tokenizes the prompt (once); Generate then gets its ids
            TokenizedPrompt tokens = resolver.tokenized(prompt.build());
            req.addAllInterventions(resolver.resolve(specs, "steering", tokens)).setPrompt(tokens.forGeneration());
        }
        String prefix = kind == Kind.CHAT ? "chatcmpl-" : "cmpl-";
        return new Parsed(req.build(), body.path("model").asText(servedModel), body.path("stream").asBoolean(false),
                prefix + UUID.randomUUID(), System.currentTimeMillis() / 1000, kind);
    }

    /** A JSON array of SteeringSpec objects in proto JSON form (null or absent: none), each refused by its index. */
    public static List<SteeringSpec> steeringSpecs(JsonNode steering, String field) {
        if (steering == null || steering.isNull()) return List.of();
        if (!steering.isArray()) throw Errors.invalid(field, "an array of SteeringSpec objects is expected");
        List<SteeringSpec> specs = new ArrayList<>();
        for (int i = 0; i < steering.size(); i++) {
            SteeringSpec.Builder spec = SteeringSpec.newBuilder();
            try {
                JsonFormat.parser().merge(steering.get(i).toString(), spec);
            } catch (InvalidProtocolBufferException e) {
                throw Errors.invalid(field + "[" + i + "]", e.getMessage());
            }
            specs.add(spec.build());
        }
        return specs;
    }

    /**
     * Chat: {@code logprobs: true} with {@code top_logprobs: 0..20}; completions: {@code logprobs: 0..5} alternatives
     * (OpenAI's legacy limit is 5; we allow up to 20 there too).
     */
    private static void logprobs(JsonNode body, Kind kind, SamplingParams.Builder sampling) {
        JsonNode lp = body.get("logprobs");
        JsonNode top = body.get("top_logprobs");
        int k;
        if (kind == Kind.CHAT) {
            boolean on = lp != null && lp.asBoolean(false);
            boolean hasTop = top != null && !top.isNull();
            if (hasTop && !on) throw Errors.invalid("top_logprobs", "needs logprobs: true");
            if (!on) return;
            k = !hasTop ? 0 : top.isInt() ? top.asInt() : -1;
        } else {
            if (lp == null || lp.isNull()) return;
            k = lp.isInt() ? lp.asInt() : -1;
        }
        String field = kind == Kind.CHAT ? "top_logprobs" : "logprobs";
        if (k < 0 || k > 20) throw Errors.invalid(field, (kind == Kind.CHAT ? top : lp) + " is outside [0, 20]");
        sampling.setLogprobs(true).setTopLogprobs(k);
    }

    /** OpenAI's chat logprobs content entries for one message's tokens. */
    private static void chatLogprobs(ArrayNode content, GenerateResponse r) {
        for (TokenLogprob t : r.getLogprobsList()) {
            ObjectNode e = content.addObject();
            entry(e, t.getToken(), t.getLogprob(), t.getBytes().toByteArray());
            ArrayNode tops = e.putArray("top_logprobs");
            for (TopLogprob a : t.getTopList()) entry(tops.addObject(), a.getToken(), a.getLogprob(), a.getBytes().toByteArray());
        }
    }

    private static void entry(ObjectNode e, String token, float logprob, byte[] bytes) {
        e.put("token", token);
        e.put("logprob", logprob);
        ArrayNode b = e.putArray("bytes");
        for (byte x : bytes) b.add(x & 0xff);
    }

    /** The legacy completions shape: parallel tokens / token_logprobs / top_logprobs arrays. */
    private static void completionLogprobs(ObjectNode lp, GenerateResponse r) {
        ArrayNode tokens = lp.withArray("tokens");
        ArrayNode values = lp.withArray("token_logprobs");
        ArrayNode tops = lp.withArray("top_logprobs");
        for (TokenLogprob t : r.getLogprobsList()) {
            tokens.add(t.getToken());
            values.add(t.getLogprob());
            ObjectNode alternatives = tops.addObject();
            for (TopLogprob a : t.getTopList()) alternatives.put(a.getToken(), a.getLogprob());
        }
    }

    private static String content(JsonNode c, int index) {
        if (c == null || c.isNull()) return "";
        if (c.isTextual()) return c.asText();
        if (c.isArray()) { // [{type: text, text: ...}] parts
            StringBuilder sb = new StringBuilder();
            c.forEach(part -> sb.append(part.path("text").asText()));
            return sb.toString();
        }
        throw Errors.invalid("messages[" + index + "].content", "a string or an array of text parts is expected");
    }

    /** Runs a non-streaming request to the end and renders the OpenAI response. */
    public ObjectNode complete(Parsed p, Iterator<GenerateResponse> stream) {
        StringBuilder text = new StringBuilder();
        FinishReason finish = FinishReason.FINISH_REASON_UNSPECIFIED;
        Usage usage = Usage.getDefaultInstance();
        boolean wantLogprobs = p.request().getSampling().getLogprobs();
        ObjectNode lp = JSON.createObjectNode();
        ArrayNode chatContent = lp.putArray("content");
        ObjectNode legacy = JSON.createObjectNode();
        while (stream.hasNext()) {
            GenerateResponse r = stream.next();
            text.append(r.getTextDelta());
            if (wantLogprobs) {
                if (p.kind() == Kind.CHAT) chatLogprobs(chatContent, r);
                else completionLogprobs(legacy, r);
            }
            if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
                finish = r.getFinishReason();
                usage = r.getUsage();
            }
        }
        ObjectNode out = envelope(p, false);
        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", 0);
        if (p.kind() == Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", text.toString());
            if (wantLogprobs) choice.set("logprobs", lp);
            else choice.putNull("logprobs");
        } else {
            choice.put("text", text.toString());
            if (wantLogprobs) choice.set("logprobs", legacy);
            else choice.putNull("logprobs");
        }
        choice.put("finish_reason", finishReason(finish));
        ObjectNode u = out.putObject("usage");
        u.put("prompt_tokens", usage.getPromptTokens());
        u.put("completion_tokens", usage.getCompletionTokens());
        u.put("total_tokens", usage.getPromptTokens() + usage.getCompletionTokens());
        return out;
    }

    /** One streamed chunk in OpenAI's shape for one model-service message. */
    public ObjectNode chunk(Parsed p, GenerateResponse r, boolean first) {
        ObjectNode out = envelope(p, true);
        ArrayNode choices = out.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        if (p.kind() == Kind.CHAT) {
            ObjectNode delta = choice.putObject("delta");
            if (first) delta.put("role", "assistant");
            delta.put("content", r.getTextDelta());
            if (p.request().getSampling().getLogprobs() && r.getLogprobsCount() > 0) {
                chatLogprobs(choice.putObject("logprobs").putArray("content"), r);
            } else {
                choice.putNull("logprobs");
            }
        } else {
            choice.put("text", r.getTextDelta());
            if (p.request().getSampling().getLogprobs() && r.getLogprobsCount() > 0) {
                completionLogprobs(choice.putObject("logprobs"), r);
            } else {
                choice.putNull("logprobs");
            }
        }
        if (r.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) choice.put("finish_reason", finishReason(r.getFinishReason()));
        else choice.putNull("finish_reason");
        return out;
    }

    private ObjectNode envelope(Parsed p, boolean chunk) {
        ObjectNode out = JSON.createObjectNode();
        out.put("id", p.id());
        out.put("object", p.kind() == Kind.CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        out.put("created", p.created());
        out.put("model", p.model());
        return out;
    }

    public static String finishReason(FinishReason f) {
        return switch (f) {
            case FINISH_REASON_LENGTH -> "length";
            default -> "stop";
        };
    }

    /** OpenAI's error body and the HTTP status for a gRPC status. */
    public static int httpStatus(StatusRuntimeException e) {
        return switch (e.getStatus().getCode()) {
            case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION -> 400;
            case UNAUTHENTICATED -> 401;
            case PERMISSION_DENIED -> 403;
            case NOT_FOUND -> 404;
            case RESOURCE_EXHAUSTED -> 429;
            case UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            default -> 500;
        };
    }

    /**
     * model-service's refusal of a field the gateway filled from the OpenAI request, restated about that request's
     * field ({@code prompt} is the chat's {@code messages}, {@code sampling.temperature} is {@code temperature});
     * anything else as it is (an {@code interventions[i]...} refusal keeps model-service's name: the resolver may
     * expand one {@code steering} entry into several interventions).
     */
    public static RuntimeException restated(RuntimeException e, Kind kind) {
        if (!(e instanceof StatusRuntimeException s)) return e;
        StatusRuntimeException ours = Errors.restated(s, f -> {
            if (Errors.within(f, "prompt")) return kind == Kind.CHAT ? "messages" : "prompt";
            if (f.startsWith("sampling.")) return f.substring("sampling.".length());
            return null;
        });
        return ours != null ? ours : e;
    }

    public static ObjectNode errorBody(StatusRuntimeException e) {
        ObjectNode out = JSON.createObjectNode();
        ObjectNode err = out.putObject("error");
        Status s = e.getStatus();
        err.put("message", s.getDescription() == null ? s.getCode().toString() : s.getDescription());
        err.put("type", httpStatus(e) < 500 ? "invalid_request_error" : "server_error");
        // OpenAI's "param": the request field an INVALID_ARGUMENT names first
        String param = Errors.leadingField(s);
        if (param != null) err.put("param", param);
        else err.putNull("param");
        err.put("code", s.getCode().toString().toLowerCase());
        return out;
    }
}
