package steering.gateway.eval;

import steering.common.steer.Magnitude;
import steering.gateway.grpc.SteeringResolver;
import steering.v1.EvaluatedConfig;
import steering.v1.Intervention;
import steering.v1.InterventionKind;
import steering.v1.SteeringSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * An evaluated configuration's steering, resolved once per evaluation and then only scaled. Resolving (a registry
 * id through GetVector, a recipe through BuildVector, a named SAE feature into its tensors) happens when the request
 * is checked; the checked request holds the resulting interventions inline, at magnitude 1, so the sweep, and a run
 * resumed after a restart, calls vector-service no more: a recipe that saves stores one vector per evaluation, not one
 * per scale. Each point of the sweep sets the kind's magnitude (steering.common.steer.Magnitude) to its scale.
 */
final class SweptSteering {
    private SweptSteering() {}

    /** The config with its steering resolved into inline interventions at magnitude 1; errors name {@code field}. */
    static EvaluatedConfig resolve(EvaluatedConfig config, SteeringResolver resolver, String field) {
        List<SteeringSpec> unit = new ArrayList<>();
        for (SteeringSpec spec : config.getSteeringList()) unit.add(spec.toBuilder().setScale(1.0).build());
        EvaluatedConfig.Builder out = config.toBuilder().clearSteering();
        for (Intervention iv : resolver.resolve(unit, field)) out.addSteering(SteeringSpec.newBuilder().setIntervention(iv));
        return out.build();
    }

    /** Whether {@link #resolve} made these specs (a request checked before resolving moved here holds others). */
    static boolean isResolved(EvaluatedConfig config) {
        return config.getSteeringList().stream().allMatch(s -> s.hasIntervention() && s.getHook().isEmpty()
                && !s.hasScale() && !s.hasStrength()
                && (s.getIntervention().getKind() != InterventionKind.SAE_FEATURE || s.getIntervention().getSaeFeature().hasEncoder()));
    }

    /** The resolved config's interventions at one point of the sweep (an ABLATE at scale 0 is left out). */
    static List<Intervention> at(EvaluatedConfig resolved, double scale, String field) {
        List<Intervention> out = new ArrayList<>();
        for (SteeringSpec spec : resolved.getSteeringList()) {
            Intervention iv = Magnitude.set(spec.getIntervention(), scale, field);
            if (iv != null) out.add(iv);
        }
        return out;
    }
}
