package steering.gateway.fuzz;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Whether an INVALID_ARGUMENT description starts with a field of the request it answers ("interventions[0].hook.name: ..."). */
final class FieldPaths {
    private static final Pattern LEADING = Pattern.compile("([a-z_][a-z0-9_]*(?:\\[[^\\]]*]|\\.[a-z_][a-z0-9_]*)*): ");
    private static final Pattern SEGMENT = Pattern.compile("([a-z_][a-z0-9_]*)((?:\\[[^\\]]*])*)");

    private FieldPaths() {}

    /** The leading field path of {@code description} when it resolves in {@code type}, else null. */
    static String named(Descriptor type, String description) {
        if (description == null) return null;
        Matcher m = LEADING.matcher(description);
        if (!m.lookingAt()) return null;
        String path = m.group(1);
        return resolves(type, path) ? path : null;
    }

    static boolean resolves(Descriptor type, String path) {
        Descriptor at = type;
        for (String part : path.split("\\.(?![^\\[]*])")) {
            Matcher s = SEGMENT.matcher(part);
            if (at == null || !s.matches()) return false;
            String name = s.group(1);
            FieldDescriptor f = at.findFieldByName(name);
            if (f == null) {
                OneofDescriptor o = at.getRealOneofs().stream().filter(x -> x.getName().equals(name)).findFirst().orElse(null);
                if (o == null) return false;
                at = null; // a oneof names a choice, not a message: it can only end the path
                continue;
            }
            if (f.isMapField()) {
                FieldDescriptor v = f.getMessageType().findFieldByName("value");
                at = !s.group(2).isEmpty() && v.getJavaType() == FieldDescriptor.JavaType.MESSAGE ? v.getMessageType() : null;
                if (s.group(2).isEmpty()) at = null;
            } else {
                at = f.getJavaType() == FieldDescriptor.JavaType.MESSAGE ? f.getMessageType() : null;
            }
        }
        return true;
    }
}
