package steering.gateway.playground;

import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.Errors;
import steering.gateway.grpc.SteeringResolver;
import steering.gateway.grpc.TokenizedPrompt;
import steering.gateway.mesh.MeshClients;
import steering.v1.ChatMessage;
import steering.v1.ChatMessages;
import steering.v1.Intervention;
import steering.v1.Prompt;
import steering.v1.SamplingParams;
import steering.v1.SteeringSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static steering.gateway.playground.PlaygroundJson.*;

/**
 * The prompt and sampling fields that the playground's generations and evaluations share, and model-service's
 * refusals restated about those fields (its "sampling.max_tokens" is the page's "max_tokens").
 */
final class PlaygroundInputs {
    /** the most new tokens the page asks for; model-service still caps prompt + new tokens by its own limit */
    static final int MAX_TOKENS = 1024;

    private PlaygroundInputs() {}

    /** "prompt" (text) and "chat": true to wrap it as one user message in the model's chat template. */
    static Prompt prompt(JsonNode body) {
        String text = text(body, "prompt");
        if (!flag(body, "chat")) return Prompt.newBuilder().setText(text).build();
        return Prompt.newBuilder().setChat(ChatMessages.newBuilder()
                .addMessages(ChatMessage.newBuilder().setRole("user").setContent(text))).build();
    }

    /**
     * max_tokens, temperature, top_p and seed; an absent seed becomes {@code defaultSeed}, or when that is null a
     * random one (chosen here so that the page can show it).
     */
    static SamplingParams sampling(JsonNode body, int defaultMaxTokens, double defaultTemperature, Long defaultSeed) {
        SamplingParams.Builder s = SamplingParams.newBuilder()
                .setMaxTokens(integer(body, "max_tokens", defaultMaxTokens, 1, MAX_TOKENS))
                .setTemperature((float) number(body, "temperature", defaultTemperature, 0, 2))
                .setTopP((float) number(body, "top_p", 1, 0, 1));
        JsonNode seed = body.get("seed");
        if (seed == null || seed.isNull()) s.setSeed(defaultSeed != null ? defaultSeed : ThreadLocalRandom.current().nextLong(1L << 31));
        else if (seed.isIntegralNumber() && seed.canConvertToLong() && seed.asLong() >= 0) s.setSeed(seed.asLong());
        else throw Errors.invalid("seed", seed + " is not an integer >= 0");
        return s.build();
    }

    /**
     * model-service checks the prompt (its size limits) once, before any generation carries it; its ids then go to
     * vector-service and to every generation, so the prompt is tokenized once.
     */
    static TokenizedPrompt checkPrompt(MeshClients mesh, Prompt prompt, long deadlineSeconds) {
        try {
            return new TokenizedPrompt(prompt, () -> mesh.modelBlocking().withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS)).checked();
        } catch (StatusRuntimeException e) {
            throw restated(e);
        }
    }

    /**
     * The steering specs resolved into interventions one by one, so that vector-service's refusal of a recipe
     * ("caa_mean.hook.name: ...") names the page's field ("steering[0].recipe.caa_mean.hook.name: ...").
     */
    static List<Intervention> resolve(SteeringResolver resolver, List<SteeringSpec> specs, TokenizedPrompt prompt) {
        List<Intervention> out = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            String field = "steering[" + i + "]";
            SteeringSpec spec = specs.get(i);
            try {
                out.addAll(resolver.resolve(List.of(spec), "steering", prompt));
            } catch (StatusRuntimeException e) {
                StatusRuntimeException r = Errors.restated(e, f -> {
                    if (Errors.within(f, "steering[0]")) return field + f.substring("steering[0]".length()); // the resolver's own
                    if (spec.hasRecipe()) return field + ".recipe." + f;  // BuildVector's
                    return f.equals("id") ? field + ".vector_id" : null;  // GetVector's
                });
                throw r == null ? e : r;
            }
        }
        return out;
    }

    /** A dependency's refusal about the request it got, restated about the page's field the value came from. */
    static StatusRuntimeException restated(StatusRuntimeException e) {
        StatusRuntimeException r = Errors.restated(e, f -> {
            if (Errors.within(f, "prompt")) return "prompt";
            if (f.startsWith("sampling.")) return f.substring("sampling.".length());
            if (f.startsWith("interventions")) return "steering" + f.substring("interventions".length());
            return null;
        });
        return r == null ? e : r;
    }
}
