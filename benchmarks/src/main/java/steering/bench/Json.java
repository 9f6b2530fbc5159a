package steering.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Just enough JSON for the benchmark's figures: maps, lists, strings, numbers, booleans and null. */
final class Json {
    private Json() {}

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        append(out, value, "");
        return out.append('\n').toString();
    }

    private static void append(StringBuilder out, Object value, String indent) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String s) {
            quote(out, s);
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            out.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d).replaceFirst("\\.?0+($|e)", "$1") : "null");
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            String sep = "";
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(sep);
                quote(out, String.valueOf(e.getKey()));
                out.append(": ");
                append(out, e.getValue(), indent);
                sep = ", ";
            }
            out.append('}');
        } else if (value instanceof List<?> list) {
            // a list of objects goes one object a line; a list of numbers stays on one line
            boolean nested = !list.isEmpty() && list.get(0) instanceof Map;
            String inner = indent + "  ";
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) out.append(',');
                if (nested) out.append('\n').append(inner);
                else if (i > 0) out.append(' ');
                append(out, list.get(i), inner);
            }
            if (nested) out.append('\n').append(indent);
            out.append(']');
        } else {
            throw new IllegalArgumentException("not JSON: " + value.getClass());
        }
    }

    private static void quote(StringBuilder out, String s) {
        out.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
