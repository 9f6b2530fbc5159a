package steering.common.npz;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reader and writer of the NumPy {@code .npy} format (versions 1.0, 2.0 and 3.0): the magic {@code \x93NUMPY}, a
 * version, a little-endian header length, an ASCII Python dict {@code {'descr': ..., 'fortran_order': ...,
 * 'shape': (...)}} padded to 16 (v1) or 64 bytes, then the raw data.
 */
public final class NpyFormat {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final int CHUNK = 1 << 16;

    private NpyFormat() {}

    /** Reads one array from a stream positioned at the magic string; reads exactly the array's bytes. */
    public static NpyArray read(InputStream raw, String name) throws IOException {
        DataInputStream in = new DataInputStream(raw);
        byte[] magic = new byte[6];
        in.readFully(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) throw new IOException(name + ": not an .npy array (bad magic)");
        int major = in.readUnsignedByte();
        in.readUnsignedByte(); // minor
        long headerLen;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
        } else if (major == 2 || major == 3) {
            headerLen = Integer.toUnsignedLong(Integer.reverseBytes(in.readInt()));
        } else {
            throw new IOException(name + ": unsupported .npy version " + major);
        }
        if (headerLen > (1 << 24)) throw new IOException(name + ": .npy header of " + headerLen + " bytes is implausible");
        byte[] headerBytes = new byte[(int) headerLen];
        in.readFully(headerBytes);
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, name, "descr");
        boolean fortran = group(FORTRAN, header, name, "fortran_order").equals("True");
        long[] shape = parseShape(group(SHAPE, header, name, "shape"), name);
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        if (n > Integer.MAX_VALUE - 8) throw new IOException(name + ": " + n + " elements do not fit one Java array");
        float[] data = new float[(int) n];
        readData(in, descr, data, name);
        if (fortran && shape.length > 1) data = fortranToC(data, shape);
        return new NpyArray(name, descr, shape, data);
    }

    private static String group(Pattern p, String header, String name, String key) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) throw new IOException(name + ": .npy header has no '" + key + "': " + header.trim());
        return m.group(1);
    }

    private static long[] parseShape(String s, String name) throws IOException {
        List<Long> dims = new ArrayList<>();
        for (String part : s.split(",")) {
            String t = part.trim();
            if (t.isEmpty()) continue;
            if (t.endsWith("L")) t = t.substring(0, t.length() - 1); // Python 2 longs
            try {
                long d = Long.parseLong(t);
                if (d < 0) throw new IOException(name + ": negative dimension in shape (" + s + ")");
                dims.add(d);
            } catch (NumberFormatException e) {
                throw new IOException(name + ": bad shape (" + s + ")");
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static void readData(DataInputStream in, String descr, float[] out, String name) throws IOException {
        if (descr.length() < 3) throw new IOException(name + ": unsupported dtype '" + descr + "'");
        char order = descr.charAt(0);
        char kind = descr.charAt(1);
        int width;
        try {
            width = Integer.parseInt(descr.substring(2));
        } catch (NumberFormatException e) {
            throw new IOException(name + ": unsupported dtype '" + descr + "'");
        }
        ByteOrder bo = switch (order) {
            case '<', '|', '=' -> ByteOrder.LITTLE_ENDIAN;
            case '>' -> ByteOrder.BIG_ENDIAN;
            default -> throw new IOException(name + ": unsupported byte order in dtype '" + descr + "'");
        };
        boolean ok = switch (kind) {
            case 'f' -> width == 2 || width == 4 || width == 8;
            case 'i', 'u' -> width == 1 || width == 2 || width == 4 || width == 8;
            case 'b' -> width == 1;
            default -> false;
        };
        if (!ok) throw new IOException(name + ": unsupported dtype '" + descr + "' (floats, integers and bools are read)");
        byte[] chunk = new byte[CHUNK - CHUNK % width];
        int done = 0;
        while (done < out.length) {
            int want = (int) Math.min(chunk.length, (long) (out.length - done) * width);
            try {
                in.readFully(chunk, 0, want);
            } catch (EOFException e) {
                throw new IOException(name + ": data ends after " + done + " of " + out.length + " elements", e);
            }
            ByteBuffer b = ByteBuffer.wrap(chunk, 0, want).order(bo);
            int count = want / width;
            for (int i = 0; i < count; i++) out[done + i] = element(b, kind, width);
            done += count;
        }
    }

    private static float element(ByteBuffer b, char kind, int width) {
        return switch (kind) {
            case 'f' -> switch (width) {
                case 2 -> steering.common.tensor.HalfFloat.halfToFloat(b.getShort());
                case 4 -> b.getFloat();
                default -> (float) b.getDouble();
            };
            case 'i' -> switch (width) {
                case 1 -> b.get();
                case 2 -> b.getShort();
                case 4 -> b.getInt();
                default -> b.getLong();
            };
            case 'u' -> switch (width) {
                case 1 -> Byte.toUnsignedInt(b.get());
                case 2 -> Short.toUnsignedInt(b.getShort());
                case 4 -> Integer.toUnsignedLong(b.getInt());
                default -> unsignedLongToFloat(b.getLong());
            };
            default -> b.get() != 0 ? 1f : 0f;
        };
    }

    private static float unsignedLongToFloat(long v) {
        return v >= 0 ? v : (float) ((v >>> 1) * 2.0 + (v & 1));
    }

    /** Reorders column-major data of {@code shape} into row-major order. */
    static float[] fortranToC(float[] f, long[] shape) {
        int rank = shape.length;
        float[] c = new float[f.length];
        long[] fStride = new long[rank];
        long s = 1;
        for (int d = 0; d < rank; d++) {
            fStride[d] = s;
            s *= shape[d];
        }
        int[] idx = new int[rank];
        for (int ci = 0; ci < c.length; ci++) {
            long fi = 0;
            for (int d = 0; d < rank; d++) fi += idx[d] * fStride[d];
            c[ci] = f[(int) fi];
            for (int d = rank - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return c;
    }

    /** Writes a little-endian float32, C-order, version 1.0 .npy array. */
    public static void writeFloat32(java.io.OutputStream out, long[] shape, float[] data) throws IOException {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " does not hold " + data.length + " values");
        StringBuilder dims = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            dims.append(shape[i]);
            if (shape.length == 1 || i < shape.length - 1) dims.append(shape.length == 1 ? "," : ", ");
        }
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        StringBuilder header = new StringBuilder(dict);
        header.append(" ".repeat(pad)).append('\n');
        byte[] h = header.toString().getBytes(StandardCharsets.ISO_8859_1);
        out.write(MAGIC);
        out.write(1);
        out.write(0);
        out.write(h.length & 0xff);
        out.write((h.length >>> 8) & 0xff);
        out.write(h);
        ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : data) {
            if (!buf.hasRemaining()) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            buf.putFloat(v);
        }
        out.write(buf.array(), 0, buf.position());
    }
}
