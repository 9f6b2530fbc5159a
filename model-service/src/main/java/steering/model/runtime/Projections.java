package steering.model.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.List;

/**
 * The interventions that are not additions (ABLATE, CLAMP, CAP, SAE_FEATURE) at one hook site: each works on its
 * own sequence's rows of the packed [N, d] residual. The change is a coefficient per row times the rows of the
 * intervention's vector: (target(p) - p) U from the projection p = h U^T, or SAE_FEATURE's (value - f) d from the
 * feature's activation f; it is added out of place at the positions the policy selects (so an autograd pass
 * through the forward stays valid).
 */
final class Projections {
    private Projections() {}

    static NDArray apply(NDArray x, int site, List<ForwardStep> steps, int[] rowStart, int n, NDManager manager) {
        int d = (int) x.getShape().get(1);
        for (int b = 0; b < steps.size(); b++) {
            ForwardStep s = steps.get(b);
            for (Intervention iv : s.interventions()) {
                if (iv.kind() == Intervention.Kind.ADD || iv.hook().ordinal() != site) continue;
                float[] mask = new float[s.length()];
                boolean anyRow = false;
                for (int t = 0; t < s.length(); t++) {
                    if (iv.rowFor(s.startPosition() + t) >= 0) {
                        mask[t] = 1f;
                        anyRow = true;
                    }
                }
                if (!anyRow) continue;
                int r0 = rowStart[b];
                NDArray u = manager.create(iv.vector(), new Shape(iv.rows(), d));              // [k, d]
                NDArray h = s.length() == n ? x : x.get("{}:{}", r0, r0 + s.length());          // [m, d]
                NDArray coefficient = iv.kind() == Intervention.Kind.SAE_FEATURE
                        ? saeFeatureCoefficient(h, iv, d, manager)
                        : projectionCoefficient(h.matMul(u.transpose()), iv);                  // [m, k]
                NDArray delta = coefficient.mul(manager.create(mask, new Shape(s.length(), 1))).matMul(u); // [m, d]
                x = x.add(s.length() == n ? delta : padRows(delta, r0, n, d, manager));
            }
        }
        return x;
    }

    /** target(p) - p for the projections p [m, k] of ABLATE, CLAMP and CAP. */
    private static NDArray projectionCoefficient(NDArray p, Intervention iv) {
        return switch (iv.kind()) {
            case ABLATE -> p.neg();
            case CLAMP -> p.neg().add(iv.value());
            case CAP_AT_MOST -> NDArrays.minimum(p, iv.value()).sub(p);
            case CAP_AT_LEAST -> NDArrays.maximum(p, iv.value()).sub(p);
            case ADD, SAE_FEATURE -> throw new IllegalStateException(iv.kind() + " is not a projection");
        };
    }

    /** value - f [m, 1], with f = act(e.h + b) the feature's activation on each row of h. */
    private static NDArray saeFeatureCoefficient(NDArray h, Intervention iv, int d, NDManager manager) {
        Intervention.SaeFeature sae = iv.sae();
        NDArray pre = h.matMul(manager.create(sae.encoder(), new Shape(d, 1))).add(sae.bias());    // [m, 1]
        NDArray f = pre.maximum(0f);
        if (sae.jumpRelu()) f = f.mul(pre.gt(sae.threshold()).toType(f.getDataType(), false));
        return f.neg().add(iv.value());
    }

    /** delta's rows placed at [r0, r0 + m) of an otherwise zero [n, d] matrix. */
    private static NDArray padRows(NDArray delta, int r0, int n, int d, NDManager manager) {
        int m = (int) delta.getShape().get(0);
        NDList parts = new NDList(3);
        if (r0 > 0) parts.add(manager.zeros(new Shape(r0, d)));
        parts.add(delta);
        if (r0 + m < n) parts.add(manager.zeros(new Shape(n - r0 - m, d)));
        return parts.size() == 1 ? delta : NDArrays.concat(parts, 0);
    }
}
