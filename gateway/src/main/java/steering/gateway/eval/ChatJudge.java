package steering.gateway.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Behaviour scored 1..10 by a chat model behind any OpenAI-compatible API (the SAE-TS and FGAA papers used
 * gpt-4o-mini), mapped to [0, 1]. A reply without a number in 1..10 scores NaN and is left out of the mean.
 */
public final class ChatJudge implements BehaviourJudge {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SCORE = Pattern.compile("\\b(10|[1-9])\\b");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI endpoint;
    private final String model;
    private final String apiKey;

    /** @param baseUrl e.g. http://127.0.0.1:8080/v1 or https://api.openai.com/v1 */
    public ChatJudge(String baseUrl, String model, String apiKey) {
        this.endpoint = URI.create(baseUrl.replaceAll("/+$", "") + "/chat/completions");
        this.model = model;
        this.apiKey = apiKey;
    }

    static String question(String sample, String criterion) {
        return "Criterion: " + criterion + "\nText: \"" + sample + "\"";
    }

    /**
     * The system rule plus two worked examples: the examples pin the answer format, so that small local models also
     * reply with a bare number (a 135M model answers in prose to the rule alone).
     */
    private void addMessages(com.fasterxml.jackson.databind.node.ArrayNode messages, String sample, String criterion) {
        add(messages, "system", "You rate how well a text satisfies a criterion. You answer with one integer from 1 "
                + "(not at all) to 10 (completely) and nothing else.");
        add(messages, "user", question("I chopped the onions and fried them in butter.", "The text is about cooking."));
        add(messages, "assistant", "9");
        add(messages, "user", question("The train left the station at noon.", "The text is about cooking."));
        add(messages, "assistant", "1");
        add(messages, "user", question(sample, criterion));
    }

    private static void add(com.fasterxml.jackson.databind.node.ArrayNode messages, String role, String content) {
        ObjectNode m = messages.addObject();
        m.put("role", role);
        m.put("content", content);
    }

    @Override
    public double[] score(List<String> samples, String criterion) {
        double[] out = new double[samples.size()];
        for (int i = 0; i < out.length; i++) out[i] = scoreOne(samples.get(i), criterion);
        return out;
    }

    double scoreOne(String sample, String criterion) {
        ObjectNode body = JSON.createObjectNode();
        addMessages(body.putArray("messages"), sample, criterion);
        return parse(ask(body));
    }

    /** AxBench's three ratings of one sample (0..2 each; NaN when the reply has none) and their harmonic mean. */
    public record AxBench(double concept, double instruction, double fluency) {
        public double harmonicMean() {
            if (Double.isNaN(concept) || Double.isNaN(instruction) || Double.isNaN(fluency)) return Double.NaN;
            if (concept == 0 || instruction == 0 || fluency == 0) return 0;
            return 3 / (1 / concept + 1 / instruction + 1 / fluency);
        }
    }

    private static final Pattern RATING = Pattern.compile("\\b([0-2])\\b");

    /** Rates a sample as AxBench's judge does: concept, instruction following, fluency, each 0 / 1 / 2. */
    public AxBench axbench(String sample, String concept, String instruction) {
        return new AxBench(
                rate("how clearly the text incorporates the concept", "Concept: " + concept + "\nText: \"" + sample + "\"",
                        "Concept: cooking\nText: \"I chopped the onions and fried them in butter.\"", "2",
                        "Concept: cooking\nText: \"The train left the station at noon.\"", "0"),
                rate("how well the response follows or continues the instruction", "Instruction: " + instruction
                                + "\nResponse: \"" + sample + "\"",
                        "Instruction: Describe your morning.\nResponse: \"I woke up early and made coffee.\"", "2",
                        "Instruction: Describe your morning.\nResponse: \"Prime numbers have two divisors.\"", "0"),
                rate("how fluent and grammatical the text is", "Text: \"" + sample + "\"",
                        "Text: \"The cat sat on the warm mat and slept.\"", "2",
                        "Text: \"cat the the mat warm sat sat on\"", "0"));
    }

    private double rate(String what, String question, String example1, String answer1, String example2, String answer2) {
        ObjectNode body = JSON.createObjectNode();
        com.fasterxml.jackson.databind.node.ArrayNode messages = body.putArray("messages");
        add(messages, "system", "You rate " + what + ": 0 (not at all), 1 (somewhat) or 2 (fully). You answer with the "
                + "one digit and nothing else.");
        add(messages, "user", example1);
        add(messages, "assistant", answer1);
        add(messages, "user", example2);
        add(messages, "assistant", answer2);
        add(messages, "user", question);
        Matcher m = RATING.matcher(ask(body));
        return m.find() ? Integer.parseInt(m.group(1)) : Double.NaN;
    }

    /** One chat completion at temperature 0; returns the reply's text. */
    private String ask(ObjectNode body) {
        body.put("model", model);
        body.put("temperature", 0);
        body.put("max_tokens", 8);
        HttpRequest.Builder req = HttpRequest.newBuilder(endpoint).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (apiKey != null && !apiKey.isBlank()) req.header("Authorization", "Bearer " + apiKey);
        try {
            HttpResponse<String> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
            if (resp.statusCode() != 200) {
                throw new IllegalStateException("judge " + endpoint + " answered HTTP " + resp.statusCode() + ": " + resp.body());
            }
            return JSON.readTree(resp.body()).path("choices").path(0).path("message").path("content").asText();
        } catch (IOException e) {
            throw new IllegalStateException("judge " + endpoint + " is unreachable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the judge", e);
        }
    }

    public static double parse(String reply) {
        Matcher m = SCORE.matcher(reply == null ? "" : reply);
        return m.find() ? (Integer.parseInt(m.group(1)) - 1) / 9.0 : Double.NaN;
    }

    @Override
    public String name() {
        return "chat:" + model + "@" + endpoint;
    }
}
