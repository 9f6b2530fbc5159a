package steering.gateway.playground;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.Errors;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The playground API's JSON: proto messages in their JSON form with the .proto's snake_case names (what the page and
 * the OpenAI-style API read), the fields of a request body checked with their allowed range, and the error body.
 */
public final class PlaygroundJson {
    private PlaygroundJson() {}

    public static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
    /** the field an INVALID_ARGUMENT description starts with, as Errors.invalid writes it */
    private static final Pattern LEADING_FIELD = Pattern.compile("^([A-Za-z_][A-Za-z0-9_.\\[\\]]*): ");

    public static ObjectNode proto(MessageOrBuilder message) {
        try {
            return (ObjectNode) JSON.readTree(PRINTER.print(message));
        } catch (InvalidProtocolBufferException | JsonProcessingException e) {
            throw Errors.internal("cannot render " + message.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** {"error": {"message", "code", "field"}}; field is set when the description names one. */
    public static ObjectNode error(StatusRuntimeException e) {
        Status s = e.getStatus();
        String message = s.getDescription() == null ? s.getCode().toString() : s.getDescription();
        ObjectNode out = JSON.createObjectNode();
        ObjectNode err = out.putObject("error");
        err.put("message", message);
        err.put("code", s.getCode().toString().toLowerCase());
        Matcher m = LEADING_FIELD.matcher(message);
        if (s.getCode() == Status.Code.INVALID_ARGUMENT && m.find()) err.put("field", m.group(1));
        return out;
    }

    public static void requireObject(JsonNode body) {
        if (body == null || !body.isObject()) throw Errors.invalid("body", "a JSON object is required");
    }

    /** A required, non-blank string. */
    public static String text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) throw Errors.invalid(field, "a non-empty string is required");
        return v.asText();
    }

    public static int integer(JsonNode body, String field, int fallback, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < min || v.asInt() > max) {
            throw Errors.invalid(field, v + " is not an integer in [" + min + ", " + max + "]");
        }
        return v.asInt();
    }

    public static double number(JsonNode body, String field, double fallback, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber() || !(v.asDouble() >= min && v.asDouble() <= max)) {
            throw Errors.invalid(field, v + " is not a number in [" + min + ", " + max + "]");
        }
        return v.asDouble();
    }

    public static boolean flag(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw Errors.invalid(field, v + " is not true or false");
        return v.asBoolean();
    }
}
