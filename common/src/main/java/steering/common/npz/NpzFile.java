package steering.common.npz;

import steering.common.io.AtomicFiles;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * NumPy {@code .npz} archives: a zip file (stored, as {@code np.savez} writes, or deflated, as
 * {@code np.savez_compressed} writes) whose entries are {@code <name>.npy} arrays. Gemma Scope ships its SAEs as
 * {@code params.npz}.
 */
public final class NpzFile {
    private NpzFile() {}

    /** The array names (entry names without ".npy"), in archive order. */
    public static List<String> names(Path path) throws IOException {
        try (ZipFile zip = open(path)) {
            List<String> out = new ArrayList<>();
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry z = e.nextElement();
                if (!z.isDirectory() && z.getName().endsWith(".npy")) out.add(stripNpy(z.getName()));
            }
            return out;
        }
    }

    /** Reads every array of the archive. */
    public static Map<String, NpyArray> readAll(Path path) throws IOException {
        Map<String, NpyArray> out = new LinkedHashMap<>();
        try (ZipFile zip = open(path)) {
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry z = e.nextElement();
                if (z.isDirectory() || !z.getName().endsWith(".npy")) continue;
                out.put(stripNpy(z.getName()), readEntry(zip, z, path));
            }
        }
        return out;
    }

    /** Reads one array by name, or returns null when the archive has no such entry. */
    public static NpyArray read(Path path, String name) throws IOException {
        try (ZipFile zip = open(path)) {
            ZipEntry z = zip.getEntry(name + ".npy");
            return z == null ? null : readEntry(zip, z, path);
        }
    }

    /** Writes float32 arrays as an uncompressed archive (like {@code np.savez}), atomically. */
    public static void writeFloat32(Path path, Map<String, Map.Entry<long[], float[]>> arrays) throws IOException {
        AtomicFiles.write(path, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            for (Map.Entry<String, Map.Entry<long[], float[]>> e : arrays.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
                NpyFormat.writeFloat32(zip, e.getValue().getKey(), e.getValue().getValue());
                zip.closeEntry();
            }
            zip.finish();
        });
    }

    private static ZipFile open(Path path) throws IOException {
        try {
            return new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new IOException(path + ": not an .npz (zip) archive: " + e.getMessage(), e);
        }
    }

    private static NpyArray readEntry(ZipFile zip, ZipEntry z, Path path) throws IOException {
        try (InputStream in = new BufferedInputStream(zip.getInputStream(z), 1 << 16)) {
            return NpyFormat.read(in, stripNpy(z.getName()));
        } catch (IOException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
    }

    private static String stripNpy(String entry) {
        return entry.substring(0, entry.length() - ".npy".length());
    }
}
