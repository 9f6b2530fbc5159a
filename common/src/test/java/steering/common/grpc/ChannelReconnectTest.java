package steering.common.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.Test;
import steering.common.process.ChildJvm;
import steering.v1.GetModelInfoRequest;
import steering.v1.ModelInfo;
import steering.v1.ModelServiceGrpc;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A real server goes away for longer than gRPC's backoff would wait out promptly, then returns on the same port:
 * a ChannelFactory channel serves again within its reconnect period (1 s here), not after the next backoff step.
 * After 17 s down, gRPC's own schedule (attempts at about 1, 2.6, 5.2, 9.3, 15.8, 26.3 s, +-20%) would try again
 * 4 to 15 s after the return.
 */
class ChannelReconnectTest {

    static Server serve(int port) throws Exception {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .addService(new ModelServiceGrpc.ModelServiceImplBase() {
                    @Override
                    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
                        out.onNext(ModelInfo.newBuilder().setModelId("back").build());
                        out.onCompleted();
                    }
                }).build().start();
    }

    @Test
    void aChannelServesAgainWithinItsReconnectPeriodAfterALongOutage() throws Exception {
        int port = ChildJvm.freePort();
        Server server = serve(port);
        ChannelFactory channels = new ChannelFactory(MeshTls.PLAINTEXT, ChannelFactory.w3c(), Duration.ofSeconds(1));
        ManagedChannel ch = channels.channel("127.0.0.1:" + port, 1 << 20);
        try {
            var stub = ModelServiceGrpc.newBlockingStub(ch);
            assertEquals("back", stub.withDeadlineAfter(5, TimeUnit.SECONDS).getModelInfo(GetModelInfoRequest.getDefaultInstance()).getModelId());
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            // calls during the outage fail fast with UNAVAILABLE (no wait-for-ready)
            StatusRuntimeException down = assertThrows(StatusRuntimeException.class,
                    () -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).getModelInfo(GetModelInfoRequest.getDefaultInstance()));
            assertEquals(io.grpc.Status.Code.UNAVAILABLE, down.getStatus().getCode());
            Thread.sleep(17_000);

            server = serve(port);
            long back = System.nanoTime();
            String answer = null;
            while (answer == null && System.nanoTime() - back < TimeUnit.SECONDS.toNanos(30)) {
                try {
                    answer = stub.withDeadlineAfter(2, TimeUnit.SECONDS).getModelInfo(GetModelInfoRequest.getDefaultInstance()).getModelId();
                } catch (StatusRuntimeException e) {
                    Thread.sleep(100);
                }
            }
            double seconds = (System.nanoTime() - back) / 1e9;
            assertEquals("back", answer);
            assertTrue(seconds < 3, "served again " + seconds + " s after the server returned (reconnect period 1 s)");
        } finally {
            ch.shutdownNow();
            server.shutdownNow();
        }
    }
}
