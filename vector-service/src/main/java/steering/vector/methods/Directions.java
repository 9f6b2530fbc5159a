package steering.vector.methods;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/**
 * The input directions an effect approximator is trained on (SAE-TS {@code ft_effects/multi_gpu.py}): SAE decoder
 * rows, "sample and combine" mixtures (a U[0,1]-weighted sum of two random decoder rows) and isotropic Gaussian
 * directions, every one normalised to unit length.
 */
public final class Directions {
    private Directions() {}

    public enum Kind { DECODER_ROW, MIXTURE, GAUSSIAN }

    /** One planned direction: the features and weights it combines (none for a Gaussian one), or its seed. */
    public record Spec(Kind kind, int[] features, double[] weights, long seed) {}

    /**
     * Plans the directions with a seeded generator: {@code decoder} distinct random rows (all rows in random order
     * when decoder >= dSae), then the mixtures, then the Gaussian ones.
     */
    public static List<Spec> plan(int dSae, int decoder, int mixtures, int gaussian, long seed) {
        Random rnd = new Random(seed);
        List<Spec> out = new ArrayList<>();
        List<Integer> all = new ArrayList<>();
        for (int j = 0; j < dSae; j++) all.add(j);
        java.util.Collections.shuffle(all, rnd);
        for (int i = 0; i < Math.min(decoder, dSae); i++) out.add(new Spec(Kind.DECODER_ROW, new int[]{all.get(i)}, new double[]{1}, 0));
        for (int i = 0; i < mixtures; i++) {
            int a = rnd.nextInt(dSae), b = rnd.nextInt(dSae - 1);
            if (b >= a) b++; // two different rows
            out.add(new Spec(Kind.MIXTURE, new int[]{a, b}, new double[]{rnd.nextDouble(), rnd.nextDouble()}, 0));
        }
        for (int i = 0; i < gaussian; i++) out.add(new Spec(Kind.GAUSSIAN, new int[0], new double[0], rnd.nextLong()));
        return out;
    }

    /** The decoder rows the plan needs. */
    public static int[] featuresNeeded(List<Spec> plan) {
        TreeSet<Integer> s = new TreeSet<>();
        for (Spec p : plan) for (int f : p.features()) s.add(f);
        return s.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The unit direction of a spec, given the decoder rows by feature. */
    public static float[] materialise(Spec spec, Map<Integer, float[]> rows, int d) {
        float[] v = new float[d];
        if (spec.kind() == Kind.GAUSSIAN) {
            Random r = new Random(spec.seed());
            for (int i = 0; i < d; i++) v[i] = (float) r.nextGaussian();
        } else {
            for (int k = 0; k < spec.features().length; k++) {
                float[] row = rows.get(spec.features()[k]);
                if (row == null || row.length != d) throw new IllegalArgumentException("decoder row " + spec.features()[k] + " is missing");
                for (int i = 0; i < d; i++) v[i] += (float) (spec.weights()[k] * row[i]);
            }
        }
        return Vec.unit(v);
    }
}
