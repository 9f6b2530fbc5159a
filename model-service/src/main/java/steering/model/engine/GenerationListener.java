package steering.model.engine;

/** Receives a generation's progress, on the engine thread, in order. */
public interface GenerationListener {
    void onToken(int tokenId, String textDelta);

    /** A token with its log-probabilities, when the request asked for them (else null); by default the above. */
    default void onToken(int tokenId, String textDelta, TokenLogprobs logprobs) {
        onToken(tokenId, textDelta);
    }

    /** How the request's conditions were decided, once, before its first token (only when it has conditions). */
    default void onConditions(java.util.List<Conditional.Result> results) {}

    void onFinish(FinishReason reason, String textDelta, int promptTokens, int completionTokens);

    void onError(Throwable error);

    enum FinishReason { LENGTH, EOS, STOP_STRING, CANCELLED }
}
