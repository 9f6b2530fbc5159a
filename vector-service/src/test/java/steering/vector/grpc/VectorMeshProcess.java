package steering.vector.grpc;

import java.nio.file.Path;

/**
 * The child process of the restart test: model-service (stories260K), sae-service and vector-service on the given
 * ports, their data and operation records in the given directory; prints READY, runs until killed.
 * Arguments: data directory, model port, sae port, vector port.
 */
public final class VectorMeshProcess {
    public static void main(String[] args) throws Exception {
        int[] ports = {Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3])};
        TestMesh mesh = new TestMesh(TestMesh.shared().resolve("models/stories260K-hf"), 512, 8, Path.of(args[0]), false, ports, 2, true);
        System.out.println("READY");
        mesh.vectorServer.awaitTermination();
    }
}
