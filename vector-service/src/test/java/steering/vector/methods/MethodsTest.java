package steering.vector.methods;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Each method against values worked out by hand. */
class MethodsTest {
    static void close(float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, "length");
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], tol, "element " + i);
    }

    @Test
    void actAddPadsTheShorterPromptOnTheRightAndSubtractsPositionByPosition() {
        ActAdd.Padded p = ActAdd.pad(new int[]{1, 5, 6}, new int[]{1, 7}, 9);
        assertArrayEquals(new int[]{1, 5, 6}, p.positive());
        assertArrayEquals(new int[]{1, 7, 9}, p.negative());
        assertEquals(3, p.length());
        ActAdd.Padded q = ActAdd.pad(new int[]{1}, new int[]{1, 2, 3}, 0);
        assertArrayEquals(new int[]{1, 0, 0}, q.positive());
        // [3, 2]: row 0 (BOS) is the same in both and cancels
        float[] a = ActAdd.difference(new float[]{1, 2, 3, 4, 5, 6}, new float[]{1, 2, 0, 5, 7, 1}, 3, 2);
        close(new float[]{0, 0, 3, -1, -2, 5}, a, 0);
        assertThrows(IllegalArgumentException.class, () -> ActAdd.difference(new float[4], new float[6], 3, 2));
    }

    @Test
    void caaFillsTheTemplateAndAveragesPairDifferences() {
        assertEquals("Input: Q?\nResponse: (A)", Caa.fill(Caa.BASE_TEMPLATE, "Q?", " (A)"));
        assertEquals("[INST] Q? [/INST] (B)", Caa.fill(Caa.CHAT_TEMPLATE, "Q?", "(B)"));
        assertEquals("Input: use {answer}\nResponse: (A)", Caa.fill(Caa.BASE_TEMPLATE, "use {answer}", "(A)"));
        assertThrows(IllegalArgumentException.class, () -> Caa.fill("no slots", "q", "a"));
        // ((1,2)-(0,0) + (3,0)-(1,4)) / 2 = ((1,2) + (2,-4)) / 2 = (1.5, -1)
        float[] v = Caa.meanDifference(List.of(new float[]{1, 2}, new float[]{3, 0}), List.of(new float[]{0, 0}, new float[]{1, 4}));
        close(new float[]{1.5f, -1f}, v, 1e-7);
        assertThrows(IllegalArgumentException.class, () -> Caa.meanDifference(List.of(new float[]{1}), List.of()));
        // marker: end of the last occurrence
        assertEquals(12, Caa.markerEnd("ab\nResponse:", "\nResponse:"));
        assertEquals(19, Caa.markerEnd("x [/INST] y [/INST] z", "[/INST]"));
        assertEquals(-1, Caa.markerEnd("nothing here", "[/INST]"));
    }

    @Test
    void caaMeanIsTheUnitDifferenceOfTheMeansOfSentenceMeans() {
        // positive sentence means (1,2), (3,4) -> (2,3); negative (0,1) -> (0,1); difference (2,2) -> (1,1)/sqrt 2
        float[] v = Caa.meanOfMeans(List.of(new float[]{1, 2}, new float[]{3, 4}), List.of(new float[]{0, 1}), true);
        close(new float[]{(float) Math.sqrt(0.5), (float) Math.sqrt(0.5)}, v, 1e-7);
        float[] raw = Caa.meanOfMeans(List.of(new float[]{1, 2}, new float[]{3, 4}), List.of(new float[]{0, 1}), false);
        close(new float[]{2, 2}, raw, 1e-7);
        assertThrows(Vec.ZeroVectorException.class, () -> Caa.meanOfMeans(List.of(new float[]{1, 1}), List.of(new float[]{1, 1}), true));
    }

    @Test
    void saeDecoderSumsWeightedRowsAndNormalises() {
        float[] rows = {3, 0, 0, 0, 4, 0}; // rows (3,0,0) and (0,4,0)
        close(new float[]{0.6f, 0.8f, 0}, SaeDecoder.combine(rows, new double[]{1, 1}, 3, false), 1e-7);
        // weights 0.5/0.5 give the same direction (normalised away)
        close(new float[]{0.6f, 0.8f, 0}, SaeDecoder.combine(rows, new double[]{0.5, 0.5}, 3, false), 1e-7);
        // rows normalised first: (1,0,0) + (0,1,0)
        float h = (float) Math.sqrt(0.5);
        close(new float[]{h, h, 0}, SaeDecoder.combine(rows, new double[]{1, 1}, 3, true), 1e-7);
        // 2*(3,0,0) - 1.5*(0,4,0) = (6,-6,0)
        close(new float[]{h, -h, 0}, SaeDecoder.combine(rows, new double[]{2, -1.5}, 3, false), 1e-7);
        assertThrows(Vec.ZeroVectorException.class, () -> SaeDecoder.combine(new float[]{1, 0, 1, 0}, new double[]{1, -1}, 2, false));
    }

    @Test
    void saeTsSubtractsTheUnitBiasDirectionFromTheUnitTargetDirection() {
        // M is [d=2, m=3]: rows (1,0,2) and (0,1,0); b = (0,3,0)
        float[] m = {1, 0, 2, 0, 1, 0};
        float[] b = {0, 3, 0};
        // t = e_2 -> M t = (2, 0) -> (1, 0); M b = (0, 3) -> (0, 1); v = unit((1,0) - (0,1)) = (1,-1)/sqrt 2
        float[] t = SaeTs.target(3, new int[]{2}, new double[]{1});
        close(new float[]{0, 0, 1}, t, 0);
        close(new float[]{2, 0}, SaeTs.mTimes(m, 2, 3, t), 0);
        float h = (float) Math.sqrt(0.5);
        close(new float[]{h, -h}, SaeTs.steer(m, b, 2, 3, t, 1.0), 1e-7);
        // bias_scale 0.5: (1, -0.5) / |.| = (2, -1)/sqrt 5
        float s5 = (float) Math.sqrt(5);
        close(new float[]{2 / s5, -1 / s5}, SaeTs.steer(m, b, 2, 3, t, 0.5), 1e-7);
        close(new float[]{1, 0}, SaeTs.steer(m, b, 2, 3, t, 0), 1e-7);
        // t = e_1 (0.5) + e_0 (1): M t = (1, 0.5) -> unit; minus (0,1) -> (1/sqrt1.25, 0.5/sqrt1.25 - 1)
        float[] t2 = SaeTs.target(3, new int[]{0, 1}, new double[]{1, 0.5});
        double n = Math.sqrt(1.25), x = 1 / n, y = 0.5 / n - 1, nn = Math.hypot(x, y);
        close(new float[]{(float) (x / nn), (float) (y / nn)}, SaeTs.steer(m, b, 2, 3, t2, 1.0), 1e-6);
        // a target in M's null space cannot be steered towards
        assertThrows(Vec.ZeroVectorException.class, () -> SaeTs.steer(new float[]{0, 0, 1, 0, 0, 1}, b, 2, 3, new float[]{1, 0, 0}, 1));
    }

    @Test
    void fgaaFiltersDenseBosAndExcludedFeaturesThenKeepsTheTopEntries() {
        float[] pos = {5, 1, 4, 0, 3, 0, 0.5f, 2};
        float[] neg = {0, 0, 0, 2, 0, 1, 0, 0};
        // diff = (5, 1, 4, -2, 3, -1, 0.5, 2)
        float[] density = {0.5f, 0.01f, 0.02f, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f};
        Fgaa.Selection s = Fgaa.select(pos, neg, density, 0.1, Set.of(2), Set.of(7), 2, 1);
        // feature 0 too dense, 2 a BOS feature, 7 excluded; positives left: 4 (3), 1 (1), 6 (0.5); negatives: 3 (-2), 5 (-1)
        assertArrayEquals(new int[]{4, 1, 3}, s.features());
        assertArrayEquals(new double[]{3, 1, -2}, s.weights(), 0);
        assertEquals(1, s.droppedForDensity());
        assertEquals(1, s.droppedAsBos());
        assertEquals(1, s.droppedExcluded());
        close(new float[]{0, 1, 0, -2, 3, 0, 0, 0}, s.target(), 0);
        close(new float[]{5, 1, 4, -2, 3, -1, 0.5f, 2}, s.diff(), 0);
        // no density data: only the filters given apply; n_neg 0 keeps no negative entry
        Fgaa.Selection all = Fgaa.select(pos, neg, null, 0.1, Set.of(), Set.of(), 3, 0);
        assertArrayEquals(new int[]{0, 2, 4}, all.features());
        // everything filtered away
        assertEquals(0, Fgaa.select(pos, neg, density, 0.001, Set.of(), Set.of(), 3, 3).features().length);
    }

    @Test
    void ridgeMatchesTheOneDimensionalClosedForm() {
        // x = (-1, 0, 1), y = (1, 2, 3): centred Sxx = 2, Sxy = 2; slope = Sxy / (Sxx + lambda), b = mean y - slope mean x
        float[][] x = {{-1}, {0}, {1}};
        float[][] y = {{1}, {2}, {3}};
        Ridge.Model m = Ridge.fit(x, y, 2.0);
        assertEquals(0.5, m.w()[0], 1e-6);
        assertEquals(2.0, m.b()[0], 1e-6);
        Ridge.Model ols = Ridge.fit(x, y, 0.0);
        assertEquals(1.0, ols.w()[0], 1e-6);
        // x not centred: x = (1, 2, 3), same y: slope 2 / (2 + 2) = 0.5, b = 2 - 0.5 * 2 = 1
        Ridge.Model m2 = Ridge.fit(new float[][]{{1}, {2}, {3}}, y, 2.0);
        assertEquals(0.5, m2.w()[0], 1e-6);
        assertEquals(1.0, m2.b()[0], 1e-6);
        close(new float[]{2.0f}, m2.predict(new float[]{2}), 1e-6);
    }

    @Test
    void ridgeRecoversAMultiOutputLinearMapAndCrossValidationPrefersTheSmallPenaltyOnCleanData() {
        java.util.Random r = new java.util.Random(3);
        int n = 60, d = 5, k = 7;
        float[][] w = new float[d][k];
        for (float[] row : w) for (int j = 0; j < k; j++) row[j] = (float) r.nextGaussian();
        float[] b = new float[k];
        for (int j = 0; j < k; j++) b[j] = j - 3;
        float[][] x = new float[n][d], y = new float[n][k];
        for (int i = 0; i < n; i++) {
            for (int a = 0; a < d; a++) x[i][a] = (float) r.nextGaussian();
            for (int j = 0; j < k; j++) {
                double s = b[j];
                for (int a = 0; a < d; a++) s += x[i][a] * w[a][j];
                y[i][j] = (float) s;
            }
        }
        double[] lambdas = {1e-6, 1e-2, 1, 100};
        Ridge.Selection sel = Ridge.crossValidate(x, y, lambdas, 5, 1);
        assertEquals(1e-6, sel.lambda());
        for (int i = 1; i < lambdas.length; i++) assertTrue(sel.sse()[i] > sel.sse()[i - 1], "error grows with the penalty on clean data");
        Ridge.Model m = Ridge.fit(x, y, 1e-6);
        for (int a = 0; a < d; a++) for (int j = 0; j < k; j++) assertEquals(w[a][j], m.w()[a * k + j], 1e-3);
        close(b, m.b(), 1e-3);
        // pure noise: the largest penalty wins
        float[][] noise = new float[n][k];
        for (float[] row : noise) for (int j = 0; j < k; j++) row[j] = (float) r.nextGaussian();
        assertEquals(100, Ridge.crossValidate(x, noise, lambdas, 5, 1).lambda());
        // default grid scales with the data: mean diagonal of X^T X times 1e-4 .. 1e2
        double diag = 0;
        for (float[] row : x) for (float v : row) diag += v * v;
        diag /= d;
        double[] grid = Ridge.defaultLambdas(x);
        assertEquals(7, grid.length);
        assertEquals(diag * 1e-4, grid[0], 1e-9 * diag);
        assertEquals(diag * 100, grid[6], 1e-6 * diag);
    }

    @Test
    void r2AndCosineFollowTheirDefinitions() {
        List<float[]> truth = List.of(new float[]{1, 0}, new float[]{3, 2});
        List<float[]> pred = List.of(new float[]{1, 1}, new float[]{3, 1});
        // SSE = 0 + 1 + 0 + 1 = 2; SST around (2, 1) = 1 + 1 + 1 + 1 = 4
        assertEquals(0.5, Ridge.r2(truth, pred, new float[]{2, 1}), 1e-9);
        // cos((1,0),(1,1)) = 1/sqrt2, cos((3,2),(3,1)) = 11 / (sqrt13 sqrt10)
        double expected = (1 / Math.sqrt(2) + 11 / (Math.sqrt(13) * Math.sqrt(10))) / 2;
        assertEquals(expected, Ridge.meanCosine(truth, pred), 1e-7);
    }

    @Test
    void calibrationMultipliesBehaviourByCoherenceAndPicksTheBest() {
        // unsteered text -2 nats/token, random tokens -10: coherence is where the steered text lies between them
        List<ScaleCalibration.Measure> m = List.of(
                new ScaleCalibration.Measure(0, Math.log(0.1), -2.0, 0.8),
                new ScaleCalibration.Measure(4, Math.log(0.5), -4.0, 0.8),
                new ScaleCalibration.Measure(8, Math.log(0.9), -8.0, 0.4));
        List<ScaleCalibration.Point> p = ScaleCalibration.score(m, ScaleCalibration.Behaviour.TARGET_TEXT, -2.0, -10.0, 0.8);
        // target text: probability relative to the sweep's best (0.9 at scale 8)
        assertEquals(0.1 / 0.9, p.get(0).behaviour(), 1e-12);
        assertEquals(1.0, p.get(0).coherence(), 1e-12);
        assertEquals(0.75, p.get(1).coherence(), 1e-12);
        assertEquals(0.5 / 0.9 * 0.75, p.get(1).score(), 1e-12);
        // scale 8: a quarter of the way from noise, and half the variety
        assertEquals(0.25 * 0.5, p.get(2).coherence(), 1e-12);
        assertEquals(1.0, p.get(2).behaviour(), 1e-12);
        assertEquals(4, ScaleCalibration.best(p).scale());
        // worse than noise is 0, better than unsteered is 1
        List<ScaleCalibration.Point> q = ScaleCalibration.score(List.of(new ScaleCalibration.Measure(1, 0, -12, 1),
                new ScaleCalibration.Measure(2, 0, -1, 1)), ScaleCalibration.Behaviour.TARGET_TEXT, -2.0, -10.0, 1);
        assertEquals(0, q.get(0).coherence());
        assertEquals(1, q.get(1).coherence());
        // features: normalised by the largest activation of the sweep
        List<ScaleCalibration.Point> f = ScaleCalibration.score(List.of(
                new ScaleCalibration.Measure(0, -1, -1.0, 1), new ScaleCalibration.Measure(1, 2, -1.5, 1),
                new ScaleCalibration.Measure(2, 4, -5.0, 1)), ScaleCalibration.Behaviour.TARGET_FEATURES, -1.0, -5.0, 1);
        assertEquals(0, f.get(0).behaviour());
        assertEquals(0.5, f.get(1).behaviour());
        assertEquals(0.875, f.get(1).coherence(), 1e-12);
        assertEquals(1.0, f.get(2).behaviour());
        assertEquals(0.0, f.get(2).coherence(), 1e-12);
        assertEquals(1, ScaleCalibration.best(f).scale());
        double[] grid = ScaleCalibration.defaultScales(10, 2);
        assertEquals(0, grid[0]);
        assertEquals(5, grid[4], 1e-12);
        assertEquals(20, grid[grid.length - 1], 1e-12);
        assertEquals((3.0 / 4 + 1.0 / 2) / 2, ScaleCalibration.distinctFraction(List.of(new int[]{1, 2, 2, 3}, new int[]{4, 4}, new int[0])), 1e-12);
    }

    @Test
    void directionsArePlannedReproduciblyAndAreUnitVectors() {
        List<Directions.Spec> plan = Directions.plan(10, 4, 3, 2, 42);
        assertEquals(9, plan.size());
        List<Directions.Spec> again = Directions.plan(10, 4, 3, 2, 42);
        for (int i = 0; i < plan.size(); i++) {
            assertArrayEquals(plan.get(i).features(), again.get(i).features(), "the same seed plans the same directions");
            assertArrayEquals(plan.get(i).weights(), again.get(i).weights(), 0);
            assertEquals(plan.get(i).seed(), again.get(i).seed());
        }
        Set<Integer> rows = new java.util.HashSet<>();
        for (int i = 0; i < 4; i++) {
            assertEquals(Directions.Kind.DECODER_ROW, plan.get(i).kind());
            rows.add(plan.get(i).features()[0]);
        }
        assertEquals(4, rows.size(), "decoder rows are distinct");
        for (int i = 4; i < 7; i++) {
            assertEquals(Directions.Kind.MIXTURE, plan.get(i).kind());
            assertNotEquals(plan.get(i).features()[0], plan.get(i).features()[1]);
            for (double w : plan.get(i).weights()) assertTrue(w >= 0 && w < 1);
        }
        assertEquals(10, Directions.plan(10, 50, 0, 0, 1).size(), "at most d_sae decoder rows");
        Map<Integer, float[]> dec = new java.util.HashMap<>();
        for (int j = 0; j < 10; j++) {
            float[] row = new float[3];
            row[j % 3] = j + 1;
            dec.put(j, row);
        }
        for (Directions.Spec s : plan) assertEquals(1.0, Vec.norm(Directions.materialise(s, dec, 3)), 1e-6);
        // a mixture is the normalised weighted sum of its two rows
        Directions.Spec mix = new Directions.Spec(Directions.Kind.MIXTURE, new int[]{0, 1}, new double[]{0.3, 0.4}, 0);
        close(Vec.unit(new float[]{0.3f, 0.8f, 0}), Directions.materialise(mix, dec, 3), 1e-6);
        // Gaussian directions depend on their seed only
        Directions.Spec g = plan.get(8);
        close(Directions.materialise(g, dec, 3), Directions.materialise(g, Map.of(), 3), 0);
    }
}
