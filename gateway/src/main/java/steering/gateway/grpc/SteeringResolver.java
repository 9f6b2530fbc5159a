package steering.gateway.grpc;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.Errors;
import steering.common.steer.Magnitude;
import steering.gateway.mesh.MeshClients;
import steering.v1.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Turns a request's steering specs into model-service interventions: inline interventions as they are, registry
 * vectors through vector-service's GetVector (which resolves a CAA position marker against the prompt and an
 * SAE_FEATURE vector's feature into its SAE tensors), recipes through BuildVector. An inline SAE_FEATURE that names
 * its feature (sae_id, feature) is resolved through vector-service too (an unsaved one-feature sae_decoder build,
 * which checks the SAE against the model and the feature against the SAE's width, and asks sae-service for the
 * tensors).
 * <p>
 * scale and strength are the kind's magnitude (steering.common.steer.Magnitude): ADD's scale, the value of CLAMP,
 * CAP and SAE_FEATURE; ABLATE takes 0 (left out) or 1. So Evaluate's scale sweeps sweep the value of those kinds.
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

    /**
     * The prompt of a request, to be tokenized (by model-service, under the call's deadline) only if a registry
     * vector needs it, and then sent on as its ids.
     */
    public TokenizedPrompt tokenized(Prompt prompt) {
        return new TokenizedPrompt(prompt, mesh == null ? null : () -> deadlined(mesh.modelBlocking()));
    }

    /**
     * @param prompt the prompt being steered, for vectors whose start position depends on it (may be null); a
     *               registry vector gets it with its ids (tokenized here once), so vector-service does not tokenize it
     */
    public List<Intervention> resolve(List<SteeringSpec> specs, String field, TokenizedPrompt prompt) {
        // model-service takes at most 64 interventions a request: refuse more before resolving any of them
        if (specs.size() > MAX_SPECS) throw Errors.invalid(field, specs.size() + " steering specs is over the limit of " + MAX_SPECS);
        List<Intervention> out = new ArrayList<>(specs.size());
        for (int i = 0; i < specs.size(); i++) {
            SteeringSpec spec = specs.get(i);
            String f = field + "[" + i + "]";
            Intervention iv = switch (spec.getSourceCase()) {
                case INTERVENTION -> inline(spec.getIntervention(), f + ".intervention");
                // vector-service's complaints about the request we made name the field of ours they came from
                case VECTOR_ID -> {
                    VectorServiceGrpc.VectorServiceBlockingStub registry = registry(f);
                    GetVectorRequest get = getVector(spec.getVectorId(), prompt);
                    yield Errors.restating(() -> registry.getVector(get), p -> registryField(p, f)).getIntervention();
                }
                case RECIPE -> Errors.restating(() -> registry(f).buildVector(spec.getRecipe()),
                        p -> p.equals("recipe") ? f + ".recipe" : f + ".recipe." + p).getVector().getIntervention();
                case SOURCE_NOT_SET -> throw Errors.invalid(f, "give a vector_id, an inline intervention or a recipe");
            };
            if (!spec.getHook().isEmpty()) {
                if (iv.getKind() == InterventionKind.SAE_FEATURE && !spec.getHook().equals(iv.getHook().getName())) {
                    throw Errors.invalid(f + ".hook", "an SAE feature applies at its SAE's hook " + iv.getHook().getName()
                            + ", not " + spec.getHook());
                }
                iv = iv.toBuilder().setHook(HookPoint.newBuilder().setName(spec.getHook())).build();
            }
            // scale sets the magnitude; strength multiplies it when no scale is given
            if (spec.hasScale()) iv = Magnitude.set(iv, spec.getScale(), f + ".scale");
            else if (spec.hasStrength()) iv = Magnitude.times(iv, spec.getStrength(), f + ".strength");
            if (iv == null) continue;
            if (Magnitude.isValueKind(iv.getKind()) && !iv.hasValue()) {
                throw Errors.invalid(f + ".intervention.value", iv.getKind() + " needs the target value (or a scale on the spec)");
            }
            out.add(iv);
        }
        return out;
    }

    /** GetVector of {@code id} for the prompt, with its ids when it is text or a chat. */
    private static GetVectorRequest getVector(String id, TokenizedPrompt prompt) {
        GetVectorRequest.Builder b = GetVectorRequest.newBuilder().setId(id)
                .setPrompt(prompt == null ? Prompt.getDefaultInstance() : prompt.prompt());
        TokenIds ids = prompt == null ? null : prompt.ids();
        if (ids != null && ids.getIdsCount() > 0) b.setPromptTokens(ids);
        return b.build();
    }

    /** An inline intervention; an SAE_FEATURE that names its feature gets the feature's tensors. */
    private Intervention inline(Intervention iv, String field) {
        if (iv.getKind() != InterventionKind.SAE_FEATURE || iv.getSaeFeature().hasEncoder()) return iv;
        SaeFeature named = iv.getSaeFeature();
        if (named.getSaeId().isEmpty()) {
            throw Errors.invalid(field + ".sae_feature.sae_id", "name the SAE (and its feature) or give the feature's tensors");
        }
        BuildVectorRequest build = BuildVectorRequest.newBuilder().setSave(false).setKind(InterventionKind.SAE_FEATURE)
                .setValue(iv.hasValue() ? iv.getValue() : 0)
                .setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(named.getSaeId())
                        .addFeatures(WeightedFeature.newBuilder().setFeature(named.getFeature()).setWeight(1))).build();
        Intervention resolved;
        try {
            resolved = registry(field).buildVector(build).getVector().getIntervention();
        } catch (StatusRuntimeException e) {
            throw renamed(e, field);
        }
        String hook = iv.getHook().getName();
        if (!hook.isEmpty() && !hook.equals(resolved.getHook().getName())) {
            throw Errors.invalid(field + ".hook.name", "SAE '" + named.getSaeId() + "' reads " + resolved.getHook().getName()
                    + "; an SAE feature applies at its SAE's hook, not " + hook);
        }
        return iv.toBuilder().setHook(resolved.getHook()).setSaeFeature(resolved.getSaeFeature()).build();
    }

    /** vector-service's refusal of the one-feature build, with the field named as the caller wrote it. */
    private static RuntimeException renamed(StatusRuntimeException e, String field) {
        if (e.getStatus().getCode() != Status.Code.INVALID_ARGUMENT) return e;
        String d = e.getStatus().getDescription() == null ? "" : e.getStatus().getDescription();
        String sae = field + ".sae_feature";
        String message = d.startsWith("sae_decoder.sae_id") ? sae + ".sae_id" + d.substring("sae_decoder.sae_id".length())
                : d.startsWith("sae_decoder.features[0].feature") ? sae + ".feature" + d.substring("sae_decoder.features[0].feature".length())
                : d.startsWith("sae_decoder.features") ? sae + ".feature" + d.substring("sae_decoder.features".length())
                : sae + ": " + d;
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    /** GetVector's field → ours: its id is our vector_id, its strength our strength, its prompt our prompt. */
    private static String registryField(String path, String spec) {
        if (path.equals("id")) return spec + ".vector_id";
        if (path.equals("strength")) return spec + ".strength";
        return Errors.within(path, "prompt") ? path : null;
    }

    private VectorServiceGrpc.VectorServiceBlockingStub registry(String field) {
        VectorServiceGrpc.VectorServiceBlockingStub stub = mesh == null ? null : mesh.vectorBlocking();
        if (stub == null) throw Errors.unavailable(field + ": this gateway has no vector-service configured (steering.vector-service.address)");
        return deadlined(stub);
    }

    /** The served call's deadline, or 10 minutes for a call without one. */
    private static <S extends io.grpc.stub.AbstractStub<S>> S deadlined(S stub) {
        return Context.current().getDeadline() != null ? stub : stub.withDeadlineAfter(10, TimeUnit.MINUTES);
    }
}
