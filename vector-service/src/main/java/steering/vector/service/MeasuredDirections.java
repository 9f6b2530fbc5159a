package steering.vector.service;

import steering.common.io.AtomicFiles;
import steering.common.io.DataArrays;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The effect approximator's checkpoint: the unsteered baseline and every direction already measured, one small file
 * each in the operation's work directory (written atomically as soon as it is measured), so that a restarted
 * TrainEffectApproximator measures only the directions it had not finished.
 */
final class MeasuredDirections {
    private static final Logger LOG = Logger.getLogger(MeasuredDirections.class.getName());
    private final Path dir;

    MeasuredDirections(Path dir) {
        this.dir = dir;
    }

    void saveBaseline(float[] baseline) throws IOException {
        AtomicFiles.write(dir.resolve("baseline.bin"), raw -> {
            DataOutputStream out = new DataOutputStream(raw);
            DataArrays.writeFloats(out, baseline);
            out.flush();
        });
    }

    Optional<float[]> baseline() {
        Path f = dir.resolve("baseline.bin");
        if (!Files.exists(f)) return Optional.empty();
        try (DataInputStream in = open(f)) {
            return Optional.of(DataArrays.readFloats(in));
        } catch (IOException e) {
            LOG.warning("ignoring the unreadable baseline " + f + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    void save(ApproximatorTrainer.Measured m) throws IOException {
        AtomicFiles.write(dir.resolve("direction-" + m.index() + ".bin"), raw -> {
            DataOutputStream out = new DataOutputStream(raw);
            out.writeInt(m.index());
            out.writeDouble(m.scale());
            out.writeInt(m.tokens());
            DataArrays.writeFloats(out, m.direction());
            DataArrays.writeFloats(out, m.steeredMean());
            out.flush();
        });
    }

    /** The directions measured so far, by index (an unreadable file is measured again). */
    Map<Integer, ApproximatorTrainer.Measured> load() throws IOException {
        Map<Integer, ApproximatorTrainer.Measured> out = new HashMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "direction-*.bin")) {
            for (Path f : files) {
                try (DataInputStream in = open(f)) {
                    int index = in.readInt();
                    double scale = in.readDouble();
                    int tokens = in.readInt();
                    float[] direction = DataArrays.readFloats(in);
                    float[] mean = DataArrays.readFloats(in);
                    out.put(index, new ApproximatorTrainer.Measured(index, direction, mean, scale, tokens));
                } catch (IOException e) {
                    LOG.warning("ignoring the unreadable measured direction " + f + ": " + e.getMessage());
                }
            }
        }
        return out;
    }

    private static DataInputStream open(Path f) throws IOException {
        InputStream in = new java.io.BufferedInputStream(Files.newInputStream(f), 1 << 16);
        return new DataInputStream(in);
    }
}
