package steering.sae.features;

import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import steering.v1.FeatureReduction;
import steering.v1.Prompt;
import steering.v1.SearchFeaturesRequest;

import static org.junit.jupiter.api.Assertions.*;

class FeatureSearchTest {
    // 3 tokens x 3 features: feature 0 peaks at token 1 (first of two equal maxima), feature 2 never fires
    static final float[] F = {1, 0, 0, 4, 2, 0, 4, 0, 0};

    @Test
    void meanOrMaxScoreAndTheFirstTokenOfTheMaximum() {
        FeatureSearch.Scores mean = FeatureSearch.scores(F, 3, 3, false);
        assertArrayEquals(new float[]{3, 2f / 3, 0}, mean.score(), 1e-6f);
        assertArrayEquals(new int[]{1, 1, 0}, mean.argmax());
        assertArrayEquals(new float[]{4, 2, 0}, FeatureSearch.scores(F, 3, 3, true).score());
    }

    @Test
    void theQueryFillsDefaultsAndRefusesTokenReduction() {
        SearchFeaturesRequest.Builder r = SearchFeaturesRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("hi"));
        FeatureSearch.Query q = FeatureSearch.Query.of(r.build());
        assertEquals(10, q.topK());
        assertEquals(3, q.contexts());
        assertFalse(q.max());
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> FeatureSearch.Query.of(r.setReduction(FeatureReduction.FEATURE_REDUCTION_PER_TOKEN).build()));
        assertTrue(e.getStatus().getDescription().startsWith("reduction: FEATURE_REDUCTION_PER_TOKEN is not a reduction here"));
    }
}
