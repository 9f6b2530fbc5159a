package steering.sae.store;

import com.fasterxml.jackson.databind.JsonNode;
import steering.common.grpc.Errors;
import steering.common.io.AtomicFiles;
import steering.sae.core.Sae;

import steering.sae.core.SaeFiles;
import steering.sae.core.SaeLensWriter;
import steering.sae.core.SaeLoaders;
import steering.sae.core.SaeWeights;
import steering.sae.stats.FeatureStatsData;
import steering.sae.stats.FeatureStatsIO;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The SAEs of one data directory: {@code <data-dir>/<id>/} holds {@code cfg.json} + {@code sae_weights.safetensors}
 * (SAELens layout), {@code metadata.json} (the sidecar) and optionally the feature statistics. A new SAE is written
 * into {@code .tmp-*} first (every file fsynced), then the directory is renamed into place, so a failed or
 * cancelled job never leaves a half-written SAE; leftovers of a crash are removed at start-up. Loaded SAEs are
 * cached (least recently used unloaded first) and handed out as leases, so an SAE in use is never closed.
 */
public final class SaeStore implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SaeStore.class.getName());
    public static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    public static final String SIDECAR = "metadata.json";

    /** Writes an SAE's files into a (temporary) directory. */
    @FunctionalInterface
    public interface DirectoryWriter {
        void write(Path dir) throws IOException;
    }

    /** A loaded SAE in use; close it when done. */
    public final class Lease implements AutoCloseable {
        private final Holder holder;
        private boolean closed;

        private Lease(Holder holder) {
            this.holder = holder;
        }

        public Sae sae() {
            return holder.sae;
        }

        public SaeRecord record() {
            return holder.record;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            release(holder);
        }
    }

    private static final class Holder {
        final Sae sae;
        final SaeRecord record;
        int refs;
        boolean evicted;

        Holder(Sae sae, SaeRecord record) {
            this.sae = sae;
            this.record = record;
        }
    }

    private final Path root;
    private final int maxLoaded;
    private final LinkedHashMap<String, Holder> loaded = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<String, FeatureStatsData> statsCache = new LinkedHashMap<>(16, 0.75f, true);

    public SaeStore(Path root, int maxLoaded) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        this.maxLoaded = Math.max(1, maxLoaded);
        Files.createDirectories(this.root);
        removeLeftovers();
    }

    public Path root() {
        return root;
    }

    /** Throws INVALID_ARGUMENT unless {@code id} is a valid SAE id. */
    public static String checkId(String id, String field) {
        if (id == null || !ID.matcher(id).matches()) {
            throw Errors.invalid(field, "'" + id + "' is not a valid SAE id: 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit");
        }
        return id;
    }

    public boolean exists(String id) {
        return ID.matcher(id).matches() && Files.isRegularFile(root.resolve(id).resolve(SIDECAR));
    }

    /** Every stored SAE's record (sidecars only; no weights are read), sorted by id. */
    public List<SaeRecord> list() throws IOException {
        List<SaeRecord> out = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                if (name.startsWith(".") || !Files.isRegularFile(d.resolve(SIDECAR))) continue;
                try {
                    out.add(readRecord(d));
                } catch (IOException | RuntimeException e) {
                    LOG.log(Level.WARNING, "skipping unreadable SAE directory " + d + ": " + e.getMessage());
                }
            }
        }
        out.sort(Comparator.comparing(SaeRecord::id));
        return out;
    }

    /** The record of one SAE; NOT_FOUND when there is none. */
    public SaeRecord record(String id) throws IOException {
        Path d = dir(id);
        return readRecord(d);
    }

    public boolean hasStats(String id) {
        return FeatureStatsIO.exists(root.resolve(id));
    }

    private static SaeRecord readRecord(Path d) throws IOException {
        JsonNode o = SaeRecord.JSON.readTree(d.resolve(SIDECAR).toFile());
        return SaeRecord.fromJson(o);
    }

    private Path dir(String id) {
        checkId(id, "sae_id");
        Path d = root.resolve(id);
        if (!Files.isRegularFile(d.resolve(SIDECAR))) throw Errors.notFound("SAE '" + id + "' does not exist");
        return d;
    }

    /** Loads (or reuses) an SAE; NOT_FOUND when there is none. */
    public Lease acquire(String id) throws IOException {
        synchronized (this) {
            Holder h = loaded.get(id);
            if (h != null) {
                h.refs++;
                return new Lease(h);
            }
        }
        Path d = dir(id);
        SaeRecord rec = readRecord(d);
        SaeFiles files = SaeLoaders.loadSaeLens(d);
        Sae sae = new Sae(files.config(), files.weights());
        synchronized (this) {
            Holder existing = loaded.get(id);
            if (existing != null) { // another thread loaded it meanwhile
                sae.close();
                existing.refs++;
                return new Lease(existing);
            }
            Holder h = new Holder(sae, rec);
            h.refs = 1;
            loaded.put(id, h);
            while (loaded.size() > maxLoaded) {
                String eldest = loaded.keySet().iterator().next();
                evict(eldest);
            }
            return new Lease(h);
        }
    }

    private synchronized void release(Holder h) {
        h.refs--;
        if (h.evicted && h.refs == 0) h.sae.close();
    }

    private synchronized void evict(String id) {
        Holder h = loaded.remove(id);
        statsCache.remove(id);
        if (h == null) return;
        h.evicted = true;
        if (h.refs == 0) h.sae.close();
    }

    /** Stored feature statistics, or null when the SAE has none. */
    public FeatureStatsData stats(String id) throws IOException {
        Path d = dir(id);
        synchronized (this) {
            FeatureStatsData s = statsCache.get(id);
            if (s != null) return s;
        }
        if (!FeatureStatsIO.exists(d)) return null;
        FeatureStatsData s = FeatureStatsIO.read(d);
        synchronized (this) {
            statsCache.put(id, s);
            while (statsCache.size() > maxLoaded) statsCache.remove(statsCache.keySet().iterator().next());
        }
        return s;
    }

    /** Replaces an SAE's statistics (each file atomically; the JSON, written last, marks them complete). */
    public void saveStats(String id, FeatureStatsData stats) throws IOException {
        Path d = dir(id);
        Files.deleteIfExists(d.resolve(FeatureStatsIO.JSON_FILE));
        FeatureStatsIO.write(d, stats);
        fsyncDir(d);
        synchronized (this) {
            statsCache.put(id, stats);
        }
    }

    /**
     * Creates (or, with overwrite, replaces) an SAE: {@code writer} fills a temporary directory, which is fsynced
     * and renamed into place. On any failure the temporary directory is deleted and nothing changes.
     */
    public void create(String id, boolean overwrite, DirectoryWriter writer) throws IOException {
        checkId(id, "sae_id");
        if (!overwrite && exists(id)) throw alreadyExists(id);
        Path tmp = Files.createDirectory(root.resolve(".tmp-" + id + "-" + UUID.randomUUID()));
        try {
            writer.write(tmp);
            if (!Files.isRegularFile(tmp.resolve(SIDECAR)) || !Files.isRegularFile(tmp.resolve("cfg.json"))) {
                throw new IOException("the writer left no " + SIDECAR + " or cfg.json");
            }
            fsyncDir(tmp);
            synchronized (this) {
                Path target = root.resolve(id);
                Path trash = null;
                if (Files.exists(target)) {
                    if (!overwrite) throw alreadyExists(id);
                    trash = root.resolve(".trash-" + id + "-" + UUID.randomUUID());
                    move(target, trash);
                    evict(id);
                }
                move(tmp, target);
                fsyncDir(root);
                if (trash != null) deleteTree(trash);
            }
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
    }

    /** Writes an SAE with its sidecar (and optional statistics) in one atomic step. */
    public void save(SaeRecord record, SaeWeights weights, FeatureStatsData stats, boolean overwrite) throws IOException {
        create(record.id(), overwrite, dir -> {
            SaeLensWriter.write(dir, record.config(), weights);
            if (stats != null) FeatureStatsIO.write(dir, stats);
            AtomicFiles.writeString(dir.resolve(SIDECAR), SaeRecord.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(record.toJson()));
        });
    }

    public void delete(String id) throws IOException {
        Path d = dir(id);
        Path trash = root.resolve(".trash-" + id + "-" + UUID.randomUUID());
        synchronized (this) {
            move(d, trash);
            evict(id);
            fsyncDir(root);
        }
        deleteTree(trash);
    }

    private static io.grpc.StatusRuntimeException alreadyExists(String id) {
        return io.grpc.Status.ALREADY_EXISTS.withDescription("sae_id: SAE '" + id + "' already exists; set overwrite to replace it")
                .asRuntimeException();
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        } catch (FileAlreadyExistsException e) {
            throw new IOException(to + " appeared while moving " + from, e);
        }
    }

    static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems cannot fsync a directory; the files themselves were synced
            LOG.log(Level.FINE, "could not fsync directory " + dir, e);
        }
    }

    private void removeLeftovers() throws IOException {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                String name = d.getFileName().toString();
                if (name.startsWith(".tmp-") || name.startsWith(".trash-")) {
                    LOG.info("removing " + d + " (left over by an interrupted write)");
                    deleteTree(d);
                }
            }
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }

    @Override
    public synchronized void close() {
        for (String id : new ArrayList<>(loaded.keySet())) evict(id);
    }

    /** For tests: how many SAEs are loaded. */
    synchronized int loadedCount() {
        return loaded.size();
    }

}
