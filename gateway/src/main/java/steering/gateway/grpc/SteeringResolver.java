package steering.gateway.grpc;

import steering.common.grpc.Errors;
import steering.v1.HookPoint;
import steering.v1.Intervention;
import steering.v1.SteeringSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a request's steering specs into model-service interventions. Registry vectors (vector_id) need
 * vector-service, which the gateway does not reach yet: they are refused with UNAVAILABLE naming the missing piece.
 */
public final class SteeringResolver {

    public List<Intervention> resolve(List<SteeringSpec> specs, String field) {
        List<Intervention> out = new ArrayList<>(specs.size());
        for (int i = 0; i < specs.size(); i++) {
            SteeringSpec spec = specs.get(i);
            String f = field + "[" + i + "]";
            Intervention iv = switch (spec.getSourceCase()) {
                case INTERVENTION -> spec.getIntervention();
                case VECTOR_ID -> throw Errors.unavailable(f + ".vector_id: the gateway has no vector-service configured");
                case SOURCE_NOT_SET -> throw Errors.invalid(f, "give a vector_id or an inline intervention");
            };
            Intervention.Builder b = iv.toBuilder();
            if (spec.hasScale()) {
                if (!Double.isFinite(spec.getScale())) throw Errors.invalid(f + ".scale", spec.getScale() + " is not finite");
                b.setScale(spec.getScale());
            } else if (spec.hasStrength()) {
                if (!Double.isFinite(spec.getStrength())) throw Errors.invalid(f + ".strength", spec.getStrength() + " is not finite");
                b.setScale((iv.hasScale() ? iv.getScale() : 1.0) * spec.getStrength());
            }
            if (!spec.getHook().isEmpty()) b.setHook(HookPoint.newBuilder().setName(spec.getHook()));
            out.add(b.build());
        }
        return out;
    }
}
