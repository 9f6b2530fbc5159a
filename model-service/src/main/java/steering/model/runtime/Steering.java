package steering.model.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the interventions of a batch into one packed [N, d] addition per hook site, so that the forward applies
 * all of them, for every sequence with its own vectors, scales and positions, with a single add per site.
 */
final class Steering {
    private Steering() {}

    static Map<Integer, NDArray> additions(List<ForwardStep> steps, int rows, int d, NDManager manager) {
        Map<Integer, float[]> packed = new HashMap<>();
        int row = 0;
        for (ForwardStep s : steps) {
            for (Intervention iv : s.interventions()) {
                // scale 0 is exactly the unsteered computation; the other kinds are not additions (Projections)
                if (iv.kind() != Intervention.Kind.ADD || iv.scale() == 0f) continue;
                float[] add = null;
                for (int t = 0; t < s.length(); t++) {
                    int vecRow = iv.rowFor(s.startPosition() + t);
                    if (vecRow < 0) continue;
                    if (add == null) add = packed.computeIfAbsent(iv.hook().ordinal(), k -> new float[rows * d]);
                    int dst = (row + t) * d;
                    int src = vecRow * d;
                    for (int j = 0; j < d; j++) add[dst + j] += iv.scale() * iv.vector()[src + j];
                }
            }
            row += s.length();
        }
        Map<Integer, NDArray> out = new HashMap<>();
        packed.forEach((site, data) -> out.put(site, manager.create(data, new Shape(rows, d))));
        return out;
    }
}
