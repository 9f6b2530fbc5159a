package steering.sae.corpus;

import steering.common.client.ModelClient;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Cuts tokenized documents into context windows of at most {@code contextSize} tokens, each starting with the
 * model's BOS when asked (the BOS position is captured but never trained on). Windows shorter than
 * {@code minTokens} (tails of documents) are dropped.
 */
public final class TokenWindows {
    /** One window: its document, where it starts in that document's tokens, and its ids (BOS first, if any). */
    public record Window(int document, int start, int[] ids, boolean hasBos) {
        /** Tokens that are not BOS. */
        public int contentTokens() {
            return ids.length - (hasBos ? 1 : 0);
        }
    }

    private TokenWindows() {}

    /**
     * @param pieces filled with the text piece of every token id seen (for rendering contexts later); may be null
     */
    public static List<Window> build(List<CorpusReader.Document> docs, ModelClient model, int contextSize, boolean prependBos,
                                     int minTokens, long maxContentTokens, java.util.Map<Integer, String> pieces,
                                     BooleanSupplier cancelled) {
        int bos = model.info().getBosTokenId();
        boolean withBos = prependBos && bos >= 0;
        int room = contextSize - (withBos ? 1 : 0);
        List<Window> out = new ArrayList<>();
        long total = 0;
        for (int d = 0; d < docs.size() && total < maxContentTokens; d++) {
            if (cancelled.getAsBoolean()) throw new steering.common.ops.OperationCancelledException("tokenization");
            int[] ids = tokenizeLong(model, docs.get(d).text(), pieces, model.info().getMaxRequestTokens());
            for (int s = 0; s < ids.length && total < maxContentTokens; s += room) {
                int len = (int) Math.min(Math.min(room, ids.length - s), maxContentTokens - total);
                if (len < minTokens) break;
                int[] w = new int[len + (withBos ? 1 : 0)];
                if (withBos) w[0] = bos;
                System.arraycopy(ids, s, w, withBos ? 1 : 0, len);
                out.add(new Window(d, s, w, withBos));
                total += len;
            }
        }
        return out;
    }

    /**
     * Tokenizes a document of any length: model-service refuses prompts over its request limit, so long texts are
     * cut at a space (kept with the second part, where byte-level BPE puts it) into pieces of at most about
     * {@code limit} characters, halving a piece again whenever it still holds too many tokens.
     */
    static int[] tokenizeLong(ModelClient model, String text, java.util.Map<Integer, String> pieces, int limit) {
        int maxChars = Math.max(64, limit > 0 ? limit : 2048);
        java.util.List<int[]> parts = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int end = Math.min(text.length(), start + maxChars);
            if (end < text.length()) {
                int cut = text.lastIndexOf(' ', end);
                if (cut > start) end = cut;
            }
            parts.add(tokenizePiece(model, text.substring(start, end), pieces));
            start = end;
        }
        int n = 0;
        for (int[] p : parts) n += p.length;
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static int[] tokenizePiece(ModelClient model, String text, java.util.Map<Integer, String> pieces) {
        try {
            steering.v1.TokenizeResponse tr = model.tokenize(steering.v1.Prompt.newBuilder().setText(text).setAddBos(false).build());
            int[] ids = tr.getIdsList().stream().mapToInt(Integer::intValue).toArray();
            if (pieces != null) for (int i = 0; i < ids.length && i < tr.getTokensCount(); i++) pieces.putIfAbsent(ids[i], tr.getTokens(i));
            return ids;
        } catch (io.grpc.StatusRuntimeException e) {
            if (e.getStatus().getCode() != io.grpc.Status.Code.INVALID_ARGUMENT || text.length() < 2) throw e;
            int mid = text.length() / 2;
            int cut = text.lastIndexOf(' ', mid);
            if (cut <= 0) cut = mid;
            int[] a = tokenizePiece(model, text.substring(0, cut), pieces);
            int[] b = tokenizePiece(model, text.substring(cut), pieces);
            int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, out, a.length, b.length);
            return out;
        }
    }
}
