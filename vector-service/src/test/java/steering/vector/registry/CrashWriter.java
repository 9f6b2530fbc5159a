package steering.vector.registry;

import com.google.protobuf.Timestamp;
import steering.common.tensor.TensorCodec;
import steering.v1.HookPoint;
import steering.v1.SteeringVector;
import steering.v1.VectorMethod;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Run in a child JVM by {@link VectorRegistryTest}: saves, replaces and deletes vectors in a loop until it is
 * killed. Every vector's elements all equal its "value" label, so a reader can tell a torn write from a whole one.
 */
public final class CrashWriter {
    public static final int D = 100_000;

    public static void main(String[] args) throws Exception {
        VectorRegistry reg = new VectorRegistry(Path.of(args[0]));
        System.out.println("ready");
        System.out.flush();
        for (int i = 1; ; i++) {
            String id = "v" + (i % 4);
            if (i % 7 == 0) {
                reg.delete(id);
                continue;
            }
            reg.save(vector(id, i), true);
            System.out.println("saved " + id + " = " + i);
            System.out.flush();
        }
    }

    static SteeringVector vector(String id, int value) {
        float[] data = new float[D];
        Arrays.fill(data, value);
        return SteeringVector.newBuilder().setId(id).setModelId("m").setHook(HookPoint.newBuilder().setName("blocks.0.hook_resid_post"))
                .setMethod(VectorMethod.VECTOR_METHOD_IMPORTED).setVector(TensorCodec.ofFloats(data, D))
                .putLabels("value", Integer.toString(value)).setNorm(Math.abs(value) * Math.sqrt(D))
                .setCreatedAt(Timestamp.newBuilder().setSeconds(value)).build();
    }
}
