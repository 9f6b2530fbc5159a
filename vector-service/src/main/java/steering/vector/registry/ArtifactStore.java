package steering.vector.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A directory of artifacts, one sub-directory per id, committed atomically: the files are written (and fsynced)
 * into a hidden staging directory, which is then renamed to the id in one step. A reader therefore sees an
 * artifact with all its files or not at all, and a crash mid-write leaves only a hidden staging directory, which
 * the next start removes. Replacing renames the old directory aside first ({@code .replaced-<id>-<uuid>}); if a
 * crash falls between the two renames, the next start puts the old one back. Deleting renames the directory to
 * {@code .deleted-<id>-<uuid>} (one atomic step) before removing its files.
 */
public final class ArtifactStore {
    private static final Logger LOG = Logger.getLogger(ArtifactStore.class.getName());
    public static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final String STAGING = ".staging-";
    private static final String REPLACED = ".replaced-";
    private static final String DELETED = ".deleted-";
    private static final int UUID_LENGTH = 36;

    /** Writes one file of an artifact. */
    @FunctionalInterface
    public interface FileBody {
        void write(Path file) throws IOException;
    }

    public static final class AlreadyExistsException extends IOException {
        public AlreadyExistsException(String id) {
            super("'" + id + "' already exists");
        }
    }

    private final Path root;
    private final Object lock = new Object();

    public ArtifactStore(Path root) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        Files.createDirectories(this.root);
        recover();
    }

    public Path root() {
        return root;
    }

    public static boolean validId(String id) {
        return id != null && ID.matcher(id).matches();
    }

    /** Writes the files into staging and renames the staging directory to {@code id}. */
    public void commit(String id, Map<String, FileBody> files, boolean overwrite) throws IOException {
        if (!validId(id)) throw new IllegalArgumentException("invalid id '" + id + "'");
        Path staging = root.resolve(STAGING + id + "-" + UUID.randomUUID());
        Files.createDirectory(staging);
        boolean committed = false;
        try {
            for (Map.Entry<String, FileBody> f : files.entrySet()) {
                Path file = staging.resolve(f.getKey());
                f.getValue().write(file);
                fsync(file, false);
            }
            fsync(staging, true);
            synchronized (lock) {
                Path target = root.resolve(id);
                if (Files.exists(target)) {
                    if (!overwrite) throw new AlreadyExistsException(id);
                    Path aside = root.resolve(REPLACED + id + "-" + UUID.randomUUID());
                    move(target, aside);
                    move(staging, target);
                    fsync(root, true);
                    deleteTree(aside);
                } else {
                    move(staging, target);
                    fsync(root, true);
                }
                committed = true;
            }
        } finally {
            if (!committed) deleteTree(staging);
        }
    }

    /** Replaces one file of an existing artifact atomically (temp file + rename). */
    public void replaceFile(String id, String name, FileBody body) throws IOException {
        synchronized (lock) {
            Path dir = root.resolve(id);
            if (!Files.isDirectory(dir)) throw new NoSuchFileException(id);
            Path tmp = dir.resolve("." + name + "." + UUID.randomUUID() + ".tmp");
            try {
                body.write(tmp);
                fsync(tmp, false);
                move(tmp, dir.resolve(name));
                fsync(dir, true);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** The directory of a committed artifact, or null. */
    public Path dir(String id) {
        if (!validId(id)) return null;
        Path d = root.resolve(id);
        return Files.isDirectory(d) ? d : null;
    }

    /** The committed ids, sorted. */
    public List<String> ids() {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!name.startsWith(".") && validId(name) && Files.isDirectory(p)) out.add(name);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(null);
        return out;
    }

    /** Deletes an artifact; false if there was none. */
    public boolean delete(String id) throws IOException {
        if (!validId(id)) return false;
        Path aside;
        synchronized (lock) {
            Path target = root.resolve(id);
            if (!Files.isDirectory(target)) return false;
            aside = root.resolve(DELETED + id + "-" + UUID.randomUUID());
            move(target, aside);
            fsync(root, true);
        }
        deleteTree(aside);
        return true;
    }

    /** Finishes what a crash interrupted: drops staging and deleted directories, restores a replaced one. */
    private void recover() throws IOException {
        Map<String, Path> replaced = new LinkedHashMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.startsWith(STAGING) || name.startsWith(DELETED)) {
                    LOG.info("removing " + p.getFileName() + " left by an interrupted write or delete");
                    deleteTree(p);
                } else if (name.startsWith(REPLACED) && name.length() > REPLACED.length() + UUID_LENGTH + 1) {
                    replaced.put(name.substring(REPLACED.length(), name.length() - UUID_LENGTH - 1), p);
                } else if (name.startsWith(".") && name.endsWith(".tmp")) {
                    Files.deleteIfExists(p);
                }
            }
        }
        for (Map.Entry<String, Path> e : replaced.entrySet()) {
            Path target = root.resolve(e.getKey());
            if (!Files.exists(target) && validId(e.getKey())) {
                LOG.info("restoring " + e.getKey() + ": a replacement was interrupted before the new version was in place");
                move(e.getValue(), target);
            } else {
                deleteTree(e.getValue());
            }
        }
        // temp files of an interrupted replaceFile inside artifact directories
        for (String id : ids()) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(root.resolve(id), ".*.tmp")) {
                for (Path p : ds) Files.deleteIfExists(p);
            }
        }
        fsync(root, true);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            throw e;
        }
    }

    static void fsync(Path p, boolean directory) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            if (!directory) throw new UncheckedIOException(new IOException("fsync " + p + ": " + e.getMessage(), e));
            // directories cannot be opened for fsync on every platform; the renames are still atomic
        }
    }

    public static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException e) {
            LOG.warning("could not remove " + p + ": " + e.getMessage());
        }
    }
}
