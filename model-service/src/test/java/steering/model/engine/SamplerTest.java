package steering.model.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Sampling frequencies against the exact temperature / top-k / top-p distributions; log-probs against log-softmax. */
class SamplerTest {
    static final float[] LOGITS = {2.0f, -1.0f, 3.5f, 0.5f, 3.5f, -30f, 1.0f};

    static double[] frequencies(Sampler s, int draws) {
        double[] f = new double[LOGITS.length];
        for (int i = 0; i < draws; i++) f[s.next(LOGITS, 0, LOGITS.length)] += 1.0 / draws;
        return f;
    }

    static double[] softmax(float t, int... allowed) {
        double[] p = new double[LOGITS.length];
        double sum = 0;
        for (int i : allowed) sum += p[i] = Math.exp(LOGITS[i] / t);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    @Test
    void temperatureTopKAndTopPDrawFromTheirExactDistributions() {
        int draws = 40_000;
        assertArrayEquals(softmax(0.7f, 0, 1, 2, 3, 4, 5, 6), frequencies(new Sampler(0.7f, 0, 0f, 1), draws), 0.01);
        // top-k 3: the two tied 3.5s and the 2.0
        assertArrayEquals(softmax(1f, 2, 4, 0), frequencies(new Sampler(1f, 3, 0f, 2), draws), 0.01);
        // top-p at temperature 1: the two 3.5s hold 0.846 of the mass, with the 2.0 0.940
        assertArrayEquals(softmax(1f, 2, 4), frequencies(new Sampler(1f, 0, 0.8f, 3), draws), 0.01);
        assertArrayEquals(softmax(1f, 2, 4, 0), frequencies(new Sampler(1f, 0, 0.9f, 3), draws), 0.01);
        // the far tail (-30 at temperature 1 is e^-33.5 below the best) is never drawn
        assertEquals(0.0, frequencies(new Sampler(1f, 0, 0f, 4), draws)[5]);
    }

    @Test
    void aNucleusReachingPastTheHeadIsTheSameAsSortingEverything() {
        // one token at 8 and 19,999 at 0: the head (within 1e-4 of the best) holds 1/7.71 of the mass, the nucleus
        // of 0.5 needs 3.855: the best token plus the first 8,512 flat ones (ties go by id)
        float[] logits = new float[20_000];
        logits[0] = 8f;
        double flat = Math.exp(-8);
        double total = 1 + 19_999 * flat;
        int flatKept = (int) Math.ceil((0.5 * total - 1) / flat);
        Sampler s = new Sampler(1f, 0, 0.5f, 7);
        int draws = 4000;
        int best = 0;
        int highest = 0;
        for (int i = 0; i < draws; i++) {
            int t = s.next(logits, 0, logits.length);
            if (t == 0) best++;
            highest = Math.max(highest, t);
        }
        assertEquals(1 / (1 + flatKept * flat), best / (double) draws, 0.03);
        assertTrue(highest <= flatKept, "drew " + highest + ", outside the nucleus of " + (flatKept + 1));
        assertTrue(highest > flatKept * 0.9, "the nucleus reaches " + flatKept + ", the highest draw " + highest);
    }

    @Test
    void greedyIsTheFirstArgmaxAndSeedsRepeat() {
        assertEquals(2, new Sampler(0f, 0, 0f, 0).next(LOGITS, 0, LOGITS.length));
        Sampler a = new Sampler(1f, 0, 0.9f, 42);
        Sampler b = new Sampler(1f, 0, 0.9f, 42);
        for (int i = 0; i < 100; i++) assertEquals(a.next(LOGITS, 0, LOGITS.length), b.next(LOGITS, 0, LOGITS.length));
    }

    @Test
    void logprobsAreTheLogSoftmaxAndTheTopAlternativesInOrder() {
        TokenLogprobs lp = TokenLogprobs.of(LOGITS, 0, LOGITS.length, 0, 3);
        double[] p = softmax(1f, 0, 1, 2, 3, 4, 5, 6);
        assertEquals(Math.log(p[0]), lp.logprob(), 1e-5);
        assertArrayEquals(new int[]{2, 4, 0}, lp.topIds(), "descending, ties by id");
        assertEquals(Math.log(p[2]), lp.topLogprobs()[0], 1e-5);
        assertEquals(Math.log(p[0]), lp.topLogprobs()[2], 1e-5);
        assertEquals(0, TokenLogprobs.of(LOGITS, 0, LOGITS.length, 5, 0).topIds().length);
        assertThrows(IllegalArgumentException.class, () -> TokenLogprobs.of(LOGITS, 0, LOGITS.length, 0, 21));
    }
}
