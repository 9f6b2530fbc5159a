package steering.common.ops;

import com.google.protobuf.Any;
import steering.common.io.AtomicFiles;
import steering.v1.Operation;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The on-disk side of an {@link OperationRegistry}: one record per operation ({@code <id>.op}: the Operation as
 * clients see it, then the parameters it was started with), its last checkpoint ({@code <id>.checkpoint}) and a
 * work directory for large checkpoint files ({@code <id>.work/}). Every file is written atomically, so a kill -9
 * at any moment leaves either the previous or the new version.
 */
public final class OperationStore {
    private static final Logger LOG = Logger.getLogger(OperationStore.class.getName());
    /** registry ids are UUIDs; anything else found in the directory is not ours */
    private static final Pattern ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    /** A record read back: the operation's last persisted state and its parameters (empty Any when none). */
    public record Stored(Operation operation, Any parameters) {}

    private final Path dir;

    public OperationStore(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(this.dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot use the operations directory " + this.dir, e);
        }
    }

    public Path directory() {
        return dir;
    }

    public static boolean validId(String id) {
        return id != null && ID.matcher(id).matches();
    }

    public void save(Operation op, Any parameters) throws IOException {
        AtomicFiles.write(record(op.getId()), out -> {
            op.writeDelimitedTo(out);
            parameters.writeDelimitedTo(out);
        });
    }

    /** Every readable record; an unreadable one is logged and skipped (it is left on disk for a person to look at). */
    public List<Stored> load() {
        List<Stored> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.op")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (!validId(name.substring(0, name.length() - 3))) continue;
                try (InputStream in = Files.newInputStream(f)) {
                    Operation op = Operation.parseDelimitedFrom(in);
                    Any params = Any.parseDelimitedFrom(in);
                    if (op == null || !name.equals(op.getId() + ".op")) throw new IOException("not an operation record");
                    out.add(new Stored(op, params == null ? Any.getDefaultInstance() : params));
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "skipping the unreadable operation record " + f + ": " + e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the operations directory " + dir, e);
        }
        return out;
    }

    public void saveCheckpoint(String id, Any state) throws IOException {
        AtomicFiles.write(dir.resolve(id + ".checkpoint"), state::writeTo);
    }

    public Optional<Any> checkpoint(String id) {
        Path f = dir.resolve(id + ".checkpoint");
        if (!Files.exists(f)) return Optional.empty();
        try (InputStream in = Files.newInputStream(f)) {
            return Optional.of(Any.parseFrom(in));
        } catch (IOException e) {
            LOG.log(Level.WARNING, "ignoring the unreadable checkpoint " + f + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    /** The operation's own directory for checkpoint files too large for {@link #saveCheckpoint}; created on demand. */
    public Path workDirectory(String id) {
        Path d = dir.resolve(id + ".work");
        try {
            Files.createDirectories(d);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + d, e);
        }
        return d;
    }

    /** Drops what only a resumed run would need: the checkpoint and the work directory. */
    public void deleteCheckpoints(String id) {
        try {
            Files.deleteIfExists(dir.resolve(id + ".checkpoint"));
            Path work = dir.resolve(id + ".work");
            if (Files.isDirectory(work)) {
                try (Stream<Path> walk = Files.walk(work)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "could not delete the checkpoints of operation " + id + ": " + e.getMessage());
        }
    }

    /** Forgets the operation entirely. */
    public void delete(String id) {
        deleteCheckpoints(id);
        try {
            Files.deleteIfExists(record(id));
        } catch (IOException e) {
            LOG.log(Level.WARNING, "could not delete the record of operation " + id + ": " + e.getMessage());
        }
    }

    private Path record(String id) {
        return dir.resolve(id + ".op");
    }
}
