package steering.gateway.fuzz;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.DynamicMessage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Generates requests for any request type from its protobuf descriptor, reproducibly from a seed: plausible values
 * (hook names, ids the mesh knows, short texts, tensors of the model's width) mixed with boundary values (0, -1,
 * the extremes of every integer type, NaN and the infinities, empty and 100 KB strings, tensors whose shape, dtype
 * and data disagree), and in some cases one hostile ingredient: a string field holding invalid UTF-8, enum numbers
 * the contract does not define, a repeated field far beyond any documented bound, or bytes that are no message.
 */
final class FuzzCorpus {
    enum Mode { PLAUSIBLE, BOUNDARY, INVALID_UTF8, UNKNOWN_ENUM, OVERSIZED, RANDOM_BYTES, EMPTY }

    private static final int MAX_DEPTH = 4;
    private static final int MAX_BYTES = 8 << 20;
    private static final byte[] INVALID_UTF8 = {(byte) 0xC3, 0x28, (byte) 0xA0, (byte) 0xA1, (byte) 0xE2, 0x28, (byte) 0xA1, (byte) 0xFF};
    private static final String[] HOOKS = {"blocks.0.hook_resid_pre", "blocks.2.hook_resid_post", "blocks.4.hook_resid_mid",
            "blocks.99.hook_resid_post", "blocks.-1.hook_resid_pre", " blocks.1.hook_resid_pre", "blocks.1.hook_resid_pre\u0000",
            "blocks.1.hook_attn_out", "", "blocks.2147483648.hook_resid_pre"};
    private static final String[] IDS = {FuzzMeshProcess.SAE_ID, "fuzz-vec", "fuzz-missing", "", "../../etc/passwd", "a/b",
            "x".repeat(200), "-lead", "ok.id_1"};
    private static final String[] TEXTS = {"Once upon a time", "I love dogs", "", " ", "\n\n", "The dog barked.",
            "émoji 🐶 and 中文", "<s></s>"};
    private static final String[] DATASETS = {"tinystories-1000", "wikitext103-1000", "nope", "../data", ""};

    private final Random rnd;
    private Mode mode;
    private boolean hostilePlaced;
    private String marker;

    FuzzCorpus(long seed) {
        this.rnd = new Random(seed);
    }

    /** A mode for the next case: mostly plausible and boundary requests, each hostile kind about one case in ten. */
    Mode pickMode() {
        int r = rnd.nextInt(100);
        if (r < 35) return Mode.PLAUSIBLE;
        if (r < 55) return Mode.BOUNDARY;
        if (r < 67) return Mode.INVALID_UTF8;
        if (r < 77) return Mode.UNKNOWN_ENUM;
        if (r < 87) return Mode.OVERSIZED;
        if (r < 97) return Mode.RANDOM_BYTES;
        return Mode.EMPTY;
    }

    /** The bytes of one request of type {@code type}; {@code mode} is what was actually made (hostile kinds fall back when the type has no such field). */
    record Made(Mode mode, byte[] bytes) {}

    Made make(Descriptor type, Mode wanted) {
        if (wanted == Mode.RANDOM_BYTES) return new Made(wanted, garbage());
        if (wanted == Mode.EMPTY) return new Made(wanted, new byte[0]);
        for (int attempt = 0; attempt < 6; attempt++) {
            mode = wanted;
            hostilePlaced = false;
            marker = "\u0001Z" + (100000 + rnd.nextInt(900000)); // 8 bytes of UTF-8, replaced by 8 invalid bytes
            DynamicMessage m = message(type, 0);
            boolean needsHostile = wanted == Mode.INVALID_UTF8 || wanted == Mode.UNKNOWN_ENUM || wanted == Mode.OVERSIZED;
            if (needsHostile && !hostilePlaced) continue;
            byte[] bytes = m.toByteArray();
            if (bytes.length > MAX_BYTES) continue; // under every service's message limit: what is refused is the content
            if (wanted == Mode.INVALID_UTF8) replace(bytes, marker.getBytes(StandardCharsets.UTF_8), INVALID_UTF8);
            return new Made(wanted, bytes);
        }
        mode = Mode.PLAUSIBLE;
        return new Made(Mode.PLAUSIBLE, message(type, 0).toByteArray());
    }

    private DynamicMessage message(Descriptor type, int depth) {
        DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
        if (type.getFullName().equals("steering.v1.Tensor") && mode != Mode.OVERSIZED && rnd.nextInt(3) > 0) return tensor(b, type);
        List<OneofDescriptor> oneofs = type.getRealOneofs();
        List<FieldDescriptor> chosen = new ArrayList<>();
        for (OneofDescriptor o : oneofs) {
            if (rnd.nextInt(4) > 0) chosen.add(o.getField(rnd.nextInt(o.getFieldCount())));
        }
        double p = mode == Mode.BOUNDARY ? 0.8 : 0.6;
        for (FieldDescriptor f : type.getFields()) {
            if (f.getRealContainingOneof() != null) continue;
            if (rnd.nextDouble() < p || hostileWanted(f)) chosen.add(f);
        }
        for (FieldDescriptor f : chosen) {
            if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && depth >= MAX_DEPTH) continue;
            if (f.isRepeated()) {
                int n = repeatCount(f);
                for (int i = 0; i < n; i++) b.addRepeatedField(f, value(f, depth));
            } else {
                b.setField(f, value(f, depth));
            }
        }
        return b.build();
    }

    private boolean hostileWanted(FieldDescriptor f) {
        if (hostilePlaced) return false;
        return switch (mode) {
            case INVALID_UTF8 -> f.getJavaType() == FieldDescriptor.JavaType.STRING || f.getJavaType() == FieldDescriptor.JavaType.MESSAGE;
            case UNKNOWN_ENUM -> f.getJavaType() == FieldDescriptor.JavaType.ENUM || f.getJavaType() == FieldDescriptor.JavaType.MESSAGE;
            case OVERSIZED -> f.isRepeated() || f.getJavaType() == FieldDescriptor.JavaType.MESSAGE;
            default -> false;
        };
    }

    private int repeatCount(FieldDescriptor f) {
        if (mode == Mode.OVERSIZED && !hostilePlaced && rnd.nextInt(2) == 0) {
            hostilePlaced = true;
            int[] sizes = {65, 257, 1_000, 5_000, 20_000};
            int n = sizes[rnd.nextInt(sizes.length)];
            return f.getJavaType() == FieldDescriptor.JavaType.MESSAGE ? Math.min(n, 2_000) : n;
        }
        return rnd.nextInt(4);
    }

    private Object value(FieldDescriptor f, int depth) {
        boolean boundary = mode == Mode.BOUNDARY || rnd.nextInt(5) == 0;
        return switch (f.getJavaType()) {
            case INT -> boundary ? pick(0, -1, 1, Integer.MAX_VALUE, Integer.MIN_VALUE, 512, 513, 65_536) : rnd.nextInt(65);
            case LONG -> boundary ? pick(0L, -1L, 1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 31, 1L << 32) : (long) rnd.nextInt(65);
            case FLOAT -> boundary ? pick(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, Float.MAX_VALUE, Float.MIN_VALUE, -1f, 1e30f)
                    : pick(0f, 0.5f, 1f, 4f, 0.9f);
            case DOUBLE -> boundary ? pick(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0d, Double.MAX_VALUE, Double.MIN_VALUE, -1d, 1e300)
                    : pick(0d, 0.5d, 1d, 8d, 0.05d);
            case BOOLEAN -> rnd.nextBoolean();
            case STRING -> string(f, boundary);
            case BYTE_STRING -> ByteString.copyFrom(boundary ? garbage() : floats(64));
            case ENUM -> enumValue(f.getEnumType());
            case MESSAGE -> message(f.getMessageType(), depth + 1);
        };
    }

    private Object enumValue(EnumDescriptor e) {
        if (mode == Mode.UNKNOWN_ENUM && (!hostilePlaced || rnd.nextBoolean())) {
            hostilePlaced = true;
            return e.findValueByNumberCreatingIfUnknown(pick(99, -1, 1 << 20, Integer.MIN_VALUE, e.getValues().size()));
        }
        return e.getValues().get(rnd.nextInt(e.getValues().size()));
    }

    private String string(FieldDescriptor f, boolean boundary) {
        if (mode == Mode.INVALID_UTF8 && (!hostilePlaced || rnd.nextInt(3) == 0)) {
            hostilePlaced = true;
            return marker;
        }
        if (boundary && rnd.nextInt(3) == 0) return pick("", "x".repeat(100_000), "\u0000", "%s%n", "💥".repeat(1000));
        String name = f.getName();
        if (name.equals("name") || name.contains("hook")) return pick(HOOKS);
        if (name.endsWith("id") || name.endsWith("ids")) return pick(IDS);
        if (name.contains("dataset")) return pick(DATASETS);
        if (name.contains("path") || name.contains("file")) return pick("../shared/data/tinystories-1000", "/etc/passwd", "", "../../x");
        return pick(TEXTS);
    }

    /** A tensor of the model's width (64), or one whose shape, dtype and data disagree. */
    private DynamicMessage tensor(DynamicMessage.Builder b, Descriptor type) {
        FieldDescriptor shape = type.findFieldByName("shape"), dtype = type.findFieldByName("dtype"), data = type.findFieldByName("data");
        int rows = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(3) : 0;
        long width = rnd.nextInt(6) == 0 ? pick(63L, 0L, -64L, 1L << 40, Long.MAX_VALUE) : 64L;
        if (rows > 0) b.addRepeatedField(shape, (long) rows);
        b.addRepeatedField(shape, width);
        int code = rnd.nextInt(6) == 0 ? rnd.nextInt(6) : 1;
        b.setField(dtype, dtype.getEnumType().findValueByNumberCreatingIfUnknown(code));
        int n = (int) Math.max(0, Math.min(4096, Math.max(1, rows) * width));
        if (rnd.nextInt(6) == 0) n += pick(-1, 1, 7);
        b.setField(data, ByteString.copyFrom(floats(Math.max(0, n))));
        return b.build();
    }

    private byte[] floats(int n) {
        ByteBuffer buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        boolean wild = rnd.nextInt(8) == 0;
        for (int i = 0; i < n; i++) {
            buf.putFloat(wild ? pick(Float.NaN, Float.POSITIVE_INFINITY, 3e38f, -3e38f, 0f) : (float) rnd.nextGaussian());
        }
        return buf.array();
    }

    /** Bytes that are no message: random bytes, or a valid-looking tag with a truncated or huge length. */
    private byte[] garbage() {
        return switch (rnd.nextInt(4)) {
            case 0 -> new byte[]{0x0A, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F}; // field 1, length 4 GB
            case 1 -> new byte[]{0x08, (byte) 0x80, (byte) 0x80}; // a truncated varint
            case 2 -> new byte[]{0x0B, 0x0C}; // start-group, end-group of another field
            default -> {
                byte[] b = new byte[1 + rnd.nextInt(200)];
                rnd.nextBytes(b);
                yield b;
            }
        };
    }

    @SafeVarargs
    private <T> T pick(T... values) {
        return values[rnd.nextInt(values.length)];
    }

    private static void replace(byte[] bytes, byte[] what, byte[] with) {
        outer:
        for (int i = 0; i + what.length <= bytes.length; i++) {
            for (int j = 0; j < what.length; j++) if (bytes[i + j] != what[j]) continue outer;
            System.arraycopy(with, 0, bytes, i, with.length);
        }
    }
}
