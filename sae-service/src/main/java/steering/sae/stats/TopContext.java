package steering.sae.stats;

/**
 * A token that strongly activated a feature.
 *
 * @param document index of the document (window) in the corpus the statistics were computed on
 * @param position token position in that window (BOS = 0)
 * @param text     the surrounding text with the token marked as [[token]] (filled in after the pass)
 */
public record TopContext(int document, int position, float activation, String text, String token) {
    public TopContext withText(String t, String tok) {
        return new TopContext(document, position, activation, t, tok);
    }
}
