package steering.sae.training;

import steering.common.io.AtomicFiles;
import steering.common.io.DataArrays;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;
import java.util.logging.Logger;

/**
 * {@link SaeTrainer}'s whole state after a step (weights, Adam moments, the shuffled order and cursor, the dead-latent
 * counters, the random generator), written to one file atomically every {@code every} steps so that a restarted
 * TrainSae continues at that step and ends with the weights an uninterrupted run gives. The file names what it was
 * made for (the training parameters and the data's shape); a checkpoint of another run is ignored.
 */
public final class TrainingCheckpoint {
    private static final Logger LOG = Logger.getLogger(TrainingCheckpoint.class.getName());
    private static final int MAGIC = 0x53414543; // "SAEC"

    /** The state after {@code step}; {@code arrays}: W_enc, b_enc, W_dec, b_dec, then their Adam m and v. */
    public record State(long step, int cursor, int[] order, long[] sinceFired, Random random, float[][] arrays) {}

    private final Path file;
    private final long every;

    public TrainingCheckpoint(Path directory, long every) {
        if (every < 1) throw new IllegalArgumentException("checkpoint interval must be >= 1 step");
        this.file = directory.resolve("sae-training.ckpt");
        this.every = every;
    }

    /** Whether to save after {@code step} of {@code steps} (never after the last: the result is saved then). */
    boolean due(long step, long steps) {
        return step % every == 0 && step < steps;
    }

    static String fingerprint(SaeTrainer.Params p, int rows, int d) {
        return p + " rows=" + rows + " d=" + d;
    }

    void save(String fingerprint, State s) throws IOException {
        AtomicFiles.write(file, raw -> {
            DataOutputStream out = new DataOutputStream(raw);
            out.writeInt(MAGIC);
            out.writeUTF(fingerprint);
            out.writeLong(s.step());
            out.writeInt(s.cursor());
            DataArrays.writeInts(out, s.order());
            DataArrays.writeLongs(out, s.sinceFired());
            ByteArrayOutputStream rnd = new ByteArrayOutputStream();
            try (ObjectOutputStream o = new ObjectOutputStream(rnd)) {
                o.writeObject(s.random()); // java.util.Random is Serializable: its exact sequence continues
            }
            out.writeInt(rnd.size());
            rnd.writeTo(out);
            out.writeInt(s.arrays().length);
            for (float[] a : s.arrays()) DataArrays.writeFloats(out, a);
            out.flush();
        });
    }

    /** The saved state when there is one made for this run; empty otherwise (or when the file is unreadable). */
    Optional<State> load(String fingerprint) {
        if (!Files.exists(file)) return Optional.empty();
        try (InputStream raw = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            DataInputStream in = new DataInputStream(raw);
            if (in.readInt() != MAGIC) throw new IOException("not a training checkpoint");
            String made = in.readUTF();
            if (!made.equals(fingerprint)) {
                LOG.warning("ignoring a training checkpoint of another run (" + made + ")");
                return Optional.empty();
            }
            long step = in.readLong();
            int cursor = in.readInt();
            int[] order = DataArrays.readInts(in);
            long[] since = DataArrays.readLongs(in);
            byte[] rnd = new byte[in.readInt()];
            in.readFully(rnd);
            Random random;
            try (ObjectInputStream o = new ObjectInputStream(new ByteArrayInputStream(rnd))) {
                random = (Random) o.readObject();
            } catch (ClassNotFoundException | ClassCastException e) {
                throw new IOException("the random generator's state is unreadable", e);
            }
            float[][] arrays = new float[in.readInt()][];
            for (int i = 0; i < arrays.length; i++) arrays[i] = DataArrays.readFloats(in);
            return Optional.of(new State(step, cursor, order, since, random, arrays));
        } catch (IOException e) {
            LOG.warning("ignoring the unreadable training checkpoint " + file + ": " + e.getMessage());
            return Optional.empty();
        }
    }
}
