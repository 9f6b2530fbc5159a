package steering.sae.encode;

import org.junit.jupiter.api.Test;
import steering.v1.EncodedText;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class PerTextReductionTest {
    // 3 rows of 2 features: text 0 is rows 0-1, text 1 is row 2
    static final float[] F = {1, 0, 3, 4, 0, 5};
    static final List<int[]> GROUPS = List.of(new int[]{0, 2}, new int[]{2, 3});

    @Test
    void meanAndMaxAreTakenPerTextAndFeature() {
        assertArrayEquals(new float[]{2, 2, 0, 5}, PerTextReduction.reduce(F, 2, GROUPS, false));
        assertArrayEquals(new float[]{3, 4, 0, 5}, PerTextReduction.reduce(F, 2, GROUPS, true));
    }

    @Test
    void eachTextBecomesOneRowAndKeepsItsTokens() {
        List<EncodedText> texts = List.of(
                EncodedText.newBuilder().setFirstRow(0).setRowCount(2).addTokenIds(7).addTokenIds(8).build(),
                EncodedText.newBuilder().setFirstRow(2).setRowCount(1).addTokenIds(9).build());
        List<EncodedText> out = PerTextReduction.oneRowEach(texts);
        assertEquals(1, out.get(1).getFirstRow());
        assertEquals(1, out.get(1).getRowCount());
        assertEquals(1, out.get(0).getRowCount());
        assertEquals(List.of(7, 8), out.get(0).getTokenIdsList());
    }
}
