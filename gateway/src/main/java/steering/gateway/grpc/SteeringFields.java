package steering.gateway.grpc;

import io.grpc.StatusRuntimeException;
import steering.common.grpc.Errors;
import steering.v1.SteeringSpec;

import java.util.List;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a field of a GenerateRequest the gateway built came from in its caller's request, so that model-service's
 * INVALID_ARGUMENT names the caller's field: {@code interventions[j]} was made from {@code steering[j]} (one spec, one
 * intervention, in order), the prompt and sampling are the caller's own.
 */
final class SteeringFields {
    private static final Pattern INTERVENTION = Pattern.compile("interventions\\[(\\d+)](.*)");

    private SteeringFields() {}

    /** @param specsField where {@code specs} are in the caller's request: "steering", "configs[2].steering" */
    static UnaryOperator<String> of(List<SteeringSpec> specs, String specsField) {
        return path -> {
            if (Errors.within(path, "prompt") || Errors.within(path, "sampling")) return path;
            if (path.equals("interventions")) return specsField;
            Matcher m = INTERVENTION.matcher(path);
            if (!m.matches()) return null;
            int j = Integer.parseInt(m.group(1));
            if (j >= specs.size()) return null;
            SteeringSpec spec = specs.get(j);
            String at = specsField + "[" + j + "]", rest = m.group(2);
            if (rest.startsWith(".scale") && spec.hasScale()) return at + ".scale";
            if (rest.startsWith(".hook") && !spec.getHook().isEmpty()) return at + ".hook";
            return switch (spec.getSourceCase()) {
                case INTERVENTION -> at + ".intervention" + rest;
                case VECTOR_ID -> at + ".vector_id";
                case RECIPE -> at + ".recipe";
                case SOURCE_NOT_SET -> at;
            };
        };
    }

    /** {@code t} as a status, restated about the caller's field when it is model-service's INVALID_ARGUMENT about one. */
    static StatusRuntimeException restated(Throwable t, UnaryOperator<String> fields) {
        StatusRuntimeException s = Errors.toStatus(t);
        StatusRuntimeException ours = Errors.restated(s, fields);
        return ours != null ? ours : s;
    }
}
