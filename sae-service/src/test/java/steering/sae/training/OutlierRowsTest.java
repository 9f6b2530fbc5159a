package steering.sae.training;

import org.junit.jupiter.api.Test;
import steering.sae.corpus.TokenWindows.Window;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Massive-activation rows are found relative to the median norm and left out of the gathered training rows. */
class OutlierRowsTest {
    @Test
    void rowsFarAboveTheMedianNormAreOutliersAndAreSkipped() {
        int d = 2;
        // window 0: rows 0-2, window 1: rows 3-5; row 4 has norm 500, the others about 1-3
        float[] data = {1, 0, 0, 2, 2, 2, 1, 1, 300, 400, 0, 3};
        List<Window> windows = List.of(new Window(0, 0, new int[]{9, 1, 2, 3}, true), new Window(1, 0, new int[]{9, 4, 5, 6}, true));
        ActivationSet acts = new ActivationSet(windows, data, 6, d, new int[]{0, 3, 6}, new float[]{7, 7});
        assertEquals(Math.sqrt(8), TrainSaeJob.medianNorm(acts), 1e-6, "sorted norms 1, 1.41, 2, 2.83, 3, 500: the upper middle one");
        boolean[] out = TrainSaeJob.outliers(acts, 10);
        assertArrayEquals(new boolean[]{false, false, false, false, true, false}, out);
        assertArrayEquals(new boolean[6], TrainSaeJob.outliers(acts, 0), "ratio 0 keeps every row");
        float[] kept = TrainSaeJob.gather(acts, List.of(1), out);
        assertArrayEquals(new float[]{1, 1, 0, 3}, kept);
        assertArrayEquals(new float[]{1, 1, 300, 400, 0, 3}, TrainSaeJob.gather(acts, List.of(1), null));
        assertEquals(2, acts.positionOf(1, 4), "row 4 is position 2 of window 1 (after BOS)");
    }
}
