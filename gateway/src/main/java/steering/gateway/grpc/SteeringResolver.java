package steering.gateway.grpc;

import io.grpc.Context;
import steering.common.grpc.Errors;
import steering.gateway.mesh.MeshClients;
import steering.v1.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Turns a request's steering specs into model-service interventions: inline interventions as they are, registry
 * vectors through vector-service's GetVector (which applies the strength to the calibrated scale and resolves a
 * CAA position marker against the prompt), recipes through BuildVector.
 */
public final class SteeringResolver {
    private final MeshClients mesh;

    /** @param mesh null: inline interventions only */
    public SteeringResolver(MeshClients mesh) {
        this.mesh = mesh;
    }

    public static final int MAX_SPECS = 64;

    public List<Intervention> resolve(List<SteeringSpec> specs, String field) {
        return resolve(specs, field, null);
    }

    /** @param prompt the prompt being steered, for vectors whose start position depends on it (may be null) */
    public List<Intervention> resolve(List<SteeringSpec> specs, String field, Prompt prompt) {
        // model-service takes at most 64 interventions a request: refuse more before resolving any of them
        if (specs.size() > MAX_SPECS) throw Errors.invalid(field, specs.size() + " steering specs is over the limit of " + MAX_SPECS);
        List<Intervention> out = new ArrayList<>(specs.size());
        for (int i = 0; i < specs.size(); i++) {
            SteeringSpec spec = specs.get(i);
            String f = field + "[" + i + "]";
            if (spec.hasScale() && !Double.isFinite(spec.getScale())) throw Errors.invalid(f + ".scale", spec.getScale() + " is not finite");
            if (spec.hasStrength() && !Double.isFinite(spec.getStrength())) throw Errors.invalid(f + ".strength", spec.getStrength() + " is not finite");
            Intervention iv = switch (spec.getSourceCase()) {
                case INTERVENTION -> strengthened(spec.getIntervention(), spec);
                // vector-service's complaints about the request we made name the field of ours they came from
                case VECTOR_ID -> Errors.restating(() -> registry(f).getVector(GetVectorRequest.newBuilder().setId(spec.getVectorId())
                        .setStrength(spec.hasStrength() ? spec.getStrength() : 1.0)
                        .setPrompt(prompt == null ? Prompt.getDefaultInstance() : prompt).build()), p -> registryField(p, f))
                        .getIntervention();
                case RECIPE -> strengthened(Errors.restating(() -> registry(f).buildVector(spec.getRecipe()),
                        p -> p.equals("recipe") ? f + ".recipe" : f + ".recipe." + p).getVector().getIntervention(), spec);
                case SOURCE_NOT_SET -> throw Errors.invalid(f, "give a vector_id, an inline intervention or a recipe");
            };
            Intervention.Builder b = iv.toBuilder();
            if (spec.hasScale()) b.setScale(spec.getScale());
            if (!spec.getHook().isEmpty()) b.setHook(HookPoint.newBuilder().setName(spec.getHook()));
            out.add(b.build());
        }
        return out;
    }

    /** GetVector's field → ours: its id is our vector_id, its strength our strength, its prompt our prompt. */
    private static String registryField(String path, String spec) {
        if (path.equals("id")) return spec + ".vector_id";
        if (path.equals("strength")) return spec + ".strength";
        return Errors.within(path, "prompt") ? path : null;
    }

    private static Intervention strengthened(Intervention iv, SteeringSpec spec) {
        if (!spec.hasStrength() || spec.hasScale()) return iv;
        return iv.toBuilder().setScale((iv.hasScale() ? iv.getScale() : 1.0) * spec.getStrength()).build();
    }

    private VectorServiceGrpc.VectorServiceBlockingStub registry(String field) {
        VectorServiceGrpc.VectorServiceBlockingStub stub = mesh == null ? null : mesh.vectorBlocking();
        if (stub == null) throw Errors.unavailable(field + ": this gateway has no vector-service configured (steering.vector-service.address)");
        return Context.current().getDeadline() != null ? stub : stub.withDeadlineAfter(10, TimeUnit.MINUTES);
    }
}
