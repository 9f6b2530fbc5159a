package steering.gateway.grpc;

import steering.v1.ModelServiceGrpc;
import steering.v1.Prompt;
import steering.v1.TokenIds;
import steering.v1.TokenizeRequest;

import java.util.function.Supplier;

/**
 * One request's prompt, tokenized by model-service at most once however many calls carry it: the ids go to
 * vector-service's GetVector (a CAA marker is resolved from them) and to every Generate, which then tokenizes
 * nothing. Ids are the same tokens model-service's Generate would make of the prompt, so the output is unchanged.
 * Not thread-safe: one request's handler uses it.
 */
public final class TokenizedPrompt {
    private final Prompt prompt;
    private final Supplier<ModelServiceGrpc.ModelServiceBlockingStub> model;
    private TokenIds ids;

    /** @param model model-service, with the deadline its Tokenize call should have */
    public TokenizedPrompt(Prompt prompt, Supplier<ModelServiceGrpc.ModelServiceBlockingStub> model) {
        this.prompt = prompt;
        this.model = model;
    }

    /** A prompt that is never tokenized here (no model-service to ask): it travels as it is. */
    public static TokenizedPrompt asGiven(Prompt prompt) {
        return new TokenizedPrompt(prompt, null);
    }

    public Prompt prompt() {
        return prompt;
    }

    /** Whether there is text or a chat to tokenize. */
    public boolean given() {
        return prompt != null && (prompt.getKindCase() == Prompt.KindCase.TEXT || prompt.getKindCase() == Prompt.KindCase.CHAT);
    }

    /**
     * The prompt's ids, asking model-service's Tokenize the first time (its refusal of the prompt names "prompt...",
     * as Generate's would); null when the prompt has no text or chat or cannot be tokenized here.
     */
    public TokenIds ids() {
        if (ids == null && given()) tokenize();
        return ids;
    }

    /**
     * Has model-service check the prompt now, before the generations that share it (its size limits, token ids
     * against the vocabulary; refused as "prompt...: ..."), keeping the ids for them.
     */
    public TokenizedPrompt checked() {
        if (ids == null && prompt.getKindCase() != Prompt.KindCase.KIND_NOT_SET) tokenize();
        return this;
    }

    private void tokenize() {
        if (model == null) return;
        ids = TokenIds.newBuilder().addAllIds(model.get().tokenize(TokenizeRequest.newBuilder().setPrompt(prompt).build())
                .getIdsList()).build();
    }

    /**
     * What Generate gets: the ids once they are known, else the prompt as given. An empty text stays text, so that
     * model-service refuses it as before ("prompt.text: the prompt is empty") rather than generate after a lone BOS.
     */
    public Prompt forGeneration() {
        boolean empty = prompt.getKindCase() == Prompt.KindCase.TEXT && prompt.getText().isEmpty();
        if (ids == null || ids.getIdsCount() == 0 || empty) return prompt;
        return Prompt.newBuilder().setTokens(ids).build();
    }
}
