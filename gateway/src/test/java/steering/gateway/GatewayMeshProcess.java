package steering.gateway;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import steering.common.ops.OperationRegistry;
import steering.common.ops.OperationStore;
import steering.gateway.eval.EmbeddingJudge;
import steering.gateway.grpc.SteeringServiceImpl;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The child process of the gateway's restart test: model-service (stories260K) and a gateway with the embedding judge
 * on the given ports, the evaluations' records in the given directory; prints READY, runs until killed.
 * Arguments: operations directory, model port, gateway port.
 */
public final class GatewayMeshProcess {
    public static void main(String[] args) throws Exception {
        Path stories = Path.of(System.getProperty("steering.shared.dir", "../shared"), "models/stories260K-hf");
        EvaluateAndJudgesTest.Mesh mesh = EvaluateAndJudgesTest.Mesh.start(stories, Integer.parseInt(args[1]));
        OperationRegistry ops = new OperationRegistry(1, 4, Duration.ofHours(1), 10, new OperationStore(Path.of(args[0])));
        EmbeddingJudge judge = new EmbeddingJudge();
        Server gateway = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2])))
                .addService(new SteeringServiceImpl(mesh.clients(), ops, kind -> judge)).build().start();
        System.out.println("READY");
        gateway.awaitTermination();
    }
}
