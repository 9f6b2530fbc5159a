package steering.bench;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DecodeBenchmarkTest {
    @Test
    void parsesOptions() {
        var o = DecodeBenchmark.Options.parse("m.gguf", "--tokens", "16", "--batches", "1, 8", "--json", "out.json",
                "--interference", "--long-prompt", "500");
        assertEquals(Path.of("m.gguf"), o.model());
        assertEquals(16, o.tokens());
        assertArrayEquals(new int[]{1, 8}, o.batches());
        assertEquals(Path.of("out.json"), o.json());
        assertTrue(o.interference());
        assertEquals(500, o.longPrompt());
        assertEquals(8, o.streams());
        assertFalse(DecodeBenchmark.Options.parse("m.gguf").interference());
        assertEquals(null, DecodeBenchmark.Options.parse("m.gguf").kinds());
        assertEquals(List.of("clamp", "sae_feature"), DecodeBenchmark.Options.parse("m.gguf", "--kinds", "clamp, sae_feature").kinds());
        assertEquals(KindCost.ALL, DecodeBenchmark.Options.parse("m.gguf", "--kinds", "all").kinds());
        assertThrows(IllegalArgumentException.class, () -> DecodeBenchmark.Options.parse("m.gguf", "--kinds", "squash"));
        assertThrows(IllegalArgumentException.class, () -> DecodeBenchmark.Options.parse("m.gguf", "--tokens"));
        assertThrows(IllegalArgumentException.class, () -> DecodeBenchmark.Options.parse("m.gguf", "--bogus", "1"));
        assertThrows(IllegalArgumentException.class, () -> DecodeBenchmark.Options.parse("--tokens", "1"));
    }

    @Test
    void figuresFollowTheSchema() {
        Map<String, Object> f = DecodeBenchmark.rate("float16", "decode", 8, true, new double[]{10.0, 12.5, 11.0});
        assertEquals("{\"engine\": \"model-service\", \"dtype\": \"float16\", \"measure\": \"decode\", \"batch\": 8, "
                + "\"steered\": true, \"tokens_per_s\": 12.5, \"runs\": [10, 12.5, 11]}\n", Json.write(f));
    }

    @Test
    void writesJson() {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("s", "a \"q\"\n");
        a.put("n", 1234567.0);
        a.put("nan", Double.NaN);
        a.put("none", null);
        assertEquals("[\n  {\"s\": \"a \\\"q\\\"\\n\", \"n\": 1.23457e+06, \"nan\": null, \"none\": null},\n  {}\n]\n",
                Json.write(List.of(a, Map.of())));
    }

    @Test
    void steeringVectorHasNorm4AndMatchesThePythonCopy() {
        float[] v = DecodeBenchmark.steeringVector(576);
        double norm = 0;
        for (float x : v) norm += x * x;
        assertEquals(4.0, Math.sqrt(norm), 1e-5);
        // scripts/bench/test_report.py checks steer_vector.py against these same values
        assertEquals(0.1303418, v[0], 1e-6);
        assertEquals(0.027131379, v[575], 1e-6);
    }

    @Test
    void gapsInAWindowAndPercentiles() {
        long ms = 1_000_000;
        List<long[]> streams = List.of(new long[]{0, 10 * ms, 20 * ms, 60 * ms}, new long[]{5 * ms, 15 * ms, 16 * ms});
        assertArrayEquals(new double[]{1, 10, 10, 40}, Latency.gapsMs(streams, 12 * ms, 100 * ms));
        double[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertEquals(5, Latency.percentile(sorted, 50));
        assertEquals(10, Latency.percentile(sorted, 99));
        assertEquals(1, Latency.percentile(sorted, 0));
        assertTrue(Double.isNaN(Latency.percentile(new double[0], 50)));
        assertEquals(2.5, Latency.median(new double[]{4, 1, 3, 2}));
    }
}
