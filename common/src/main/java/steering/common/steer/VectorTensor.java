package steering.common.steer;

import steering.v1.SteeringVector;
import steering.v1.Tensor;

/**
 * Where a SteeringVector's tensor is on the wire. BuildVector and GetVector send it once: in the intervention they
 * return (every kind but SAE_FEATURE, whose intervention holds the SAE's tensors and whose {@code vector} keeps the
 * direction). The reader's rule is the .proto's: {@code vector} when set, else {@code intervention.vector}.
 */
public final class VectorTensor {
    private VectorTensor() {}

    /** The vector's [d] or [n, d] tensor; null when the answer left it out (ListVectors without include_data). */
    public static Tensor of(SteeringVector v) {
        if (v.hasVector()) return v.getVector();
        return v.getIntervention().hasVector() ? v.getIntervention().getVector() : null;
    }
}
