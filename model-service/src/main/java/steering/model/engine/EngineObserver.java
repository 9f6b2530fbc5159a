package steering.model.engine;

/** What the engine reports about its work, for metrics; called on the engine thread, so keep it cheap. */
public interface EngineObserver {
    EngineObserver NONE = new EngineObserver() {};

    /** One batched decode step: {@code batch} sequences, one new token each. */
    default void onDecodeStep(int batch, long nanos) {}

    /** A new sequence's prompt was run through the model. */
    default void onPrefill(int promptTokens, long nanos) {}

    /** A one-shot forward (Score, CaptureActivations) over {@code tokens} tokens. */
    default void onOneShot(int tokens, long nanos) {}
}
