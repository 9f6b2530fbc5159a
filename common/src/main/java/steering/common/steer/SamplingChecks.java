package steering.common.steer;

import steering.common.grpc.Errors;
import steering.v1.SamplingParams;

/**
 * The ranges of {@link SamplingParams} that need no prompt and no model: model-service checks them for every
 * Generate, and the gateway checks an evaluation's sampling with them when it starts, so that a bad temperature is
 * refused at once rather than in the operation's error minutes later.
 */
public final class SamplingChecks {
    /** The most alternatives a generated token's log-probs may list. */
    public static final int MAX_TOP_LOGPROBS = 20;

    private SamplingChecks() {}

    /**
     * INVALID_ARGUMENT naming {@code field}.max_tokens, .temperature, .top_k, .top_p, .stop[i] or .top_logprobs and
     * the allowed range.
     *
     * @param field     the SamplingParams' field in the request ("sampling"); empty: its fields are the request's own
     *                  (the OpenAI-compatible API's "temperature", "top_p", ...)
     * @param vocabSize the model's vocabulary, named in top_k's range (0: unknown here)
     */
    public static void check(SamplingParams s, String field, int vocabSize) {
        String f = field.isEmpty() ? "" : field + ".";
        if (s.getMaxTokens() < 0) {
            throw Errors.invalid(f + "max_tokens", s.getMaxTokens() + " is negative (0 = the default)");
        }
        if (!Float.isFinite(s.getTemperature()) || s.getTemperature() < 0 || s.getTemperature() > 100) {
            throw Errors.invalid(f + "temperature", s.getTemperature() + " is outside [0, 100]");
        }
        if (s.getTopK() < 0) {
            throw Errors.invalid(f + "top_k", s.getTopK() + " is outside [0, " + (vocabSize > 0 ? vocabSize : "the vocabulary size") + "]");
        }
        if (!Float.isFinite(s.getTopP()) || s.getTopP() < 0 || s.getTopP() > 1) {
            throw Errors.invalid(f + "top_p", s.getTopP() + " is outside [0, 1]");
        }
        for (int i = 0; i < s.getStopCount(); i++) {
            if (s.getStop(i).isEmpty()) throw Errors.invalid(f + "stop[" + i + "]", "stop strings must not be empty");
        }
        if (s.getTopLogprobs() != 0 && !s.getLogprobs()) {
            throw Errors.invalid(f + "top_logprobs", "needs " + f + "logprobs = true");
        }
        if (s.getTopLogprobs() < 0 || s.getTopLogprobs() > MAX_TOP_LOGPROBS) {
            throw Errors.invalid(f + "top_logprobs", s.getTopLogprobs() + " is outside [0, " + MAX_TOP_LOGPROBS + "]");
        }
    }
}
