package steering.common.io;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/** Length-prefixed primitive arrays on Data streams, for the services' small checkpoint files. */
public final class DataArrays {
    private DataArrays() {}

    public static void writeFloats(DataOutputStream out, float[] a) throws IOException {
        out.writeInt(a.length);
        for (float v : a) out.writeFloat(v);
    }

    public static float[] readFloats(DataInputStream in) throws IOException {
        float[] a = new float[checkedLength(in)];
        for (int i = 0; i < a.length; i++) a[i] = in.readFloat();
        return a;
    }

    public static void writeInts(DataOutputStream out, int[] a) throws IOException {
        out.writeInt(a.length);
        for (int v : a) out.writeInt(v);
    }

    public static int[] readInts(DataInputStream in) throws IOException {
        int[] a = new int[checkedLength(in)];
        for (int i = 0; i < a.length; i++) a[i] = in.readInt();
        return a;
    }

    public static void writeLongs(DataOutputStream out, long[] a) throws IOException {
        out.writeInt(a.length);
        for (long v : a) out.writeLong(v);
    }

    public static long[] readLongs(DataInputStream in) throws IOException {
        long[] a = new long[checkedLength(in)];
        for (int i = 0; i < a.length; i++) a[i] = in.readLong();
        return a;
    }

    private static int checkedLength(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) throw new IOException("negative array length " + n);
        return n;
    }
}
