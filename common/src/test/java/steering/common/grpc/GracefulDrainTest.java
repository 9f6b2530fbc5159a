package steering.common.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.Test;
import steering.v1.GenerateRequest;
import steering.v1.GenerateResponse;
import steering.v1.GetModelInfoRequest;
import steering.v1.ModelInfo;
import steering.v1.ModelServiceGrpc;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The drain on a real loopback server: running streams finish, new calls get UNAVAILABLE, the grace period bounds the wait. */
class GracefulDrainTest {
    private final CountDownLatch release = new CountDownLatch(1);

    private final ModelServiceGrpc.ModelServiceImplBase service = new ModelServiceGrpc.ModelServiceImplBase() {
        @Override
        public void generate(GenerateRequest request, StreamObserver<GenerateResponse> out) {
            new Thread(() -> {
                try {
                    out.onNext(GenerateResponse.newBuilder().addTokenIds(1).build());
                    release.await(30, TimeUnit.SECONDS);
                    out.onNext(GenerateResponse.newBuilder().addTokenIds(2).build());
                    out.onCompleted();
                } catch (InterruptedException e) {
                    out.onError(e);
                }
            }).start();
        }

        @Override
        public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
            out.onNext(ModelInfo.getDefaultInstance());
            out.onCompleted();
        }
    };

    @Test
    void runningStreamsFinishAndNewCallsAreRefused() throws Exception {
        GracefulDrain drain = new GracefulDrain();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(service, drain)).build().start();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        try {
            var stub = ModelServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
            List<CompletableFuture<Integer>> streams = new ArrayList<>();
            List<Iterator<GenerateResponse>> its = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                Iterator<GenerateResponse> it = stub.generate(GenerateRequest.getDefaultInstance());
                it.next(); // the stream runs
                its.add(it);
            }
            for (Iterator<GenerateResponse> it : its) {
                streams.add(CompletableFuture.supplyAsync(() -> {
                    int n = 1;
                    while (it.hasNext()) n += it.next().getTokenIdsCount();
                    return n;
                }));
            }
            assertEquals(8, drain.inFlight());
            CompletableFuture<Integer> drained = CompletableFuture.supplyAsync(() -> {
                try {
                    return drain.drain(Duration.ofSeconds(20));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            while (!drain.draining()) Thread.sleep(5);
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> stub.getModelInfo(GetModelInfoRequest.getDefaultInstance()));
            assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
            assertTrue(refused.getStatus().getDescription().contains("shutting down"));
            assertFalse(drained.isDone(), "the drain waits for the running streams");
            release.countDown();
            assertEquals(0, drained.get(20, TimeUnit.SECONDS), "every stream ended within the grace period");
            for (CompletableFuture<Integer> s : streams) assertEquals(2, s.get(5, TimeUnit.SECONDS), "each stream got all its tokens");
        } finally {
            release.countDown();
            ch.shutdownNow();
            server.shutdownNow();
        }
    }

    @Test
    void theGracePeriodBoundsTheWait() throws Exception {
        GracefulDrain drain = new GracefulDrain();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(service, drain)).build().start();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        try {
            Iterator<GenerateResponse> it = ModelServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .generate(GenerateRequest.getDefaultInstance());
            it.next();
            long t0 = System.nanoTime();
            assertEquals(1, drain.drain(Duration.ofMillis(300)), "one stream still runs when the grace period ends");
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
        } finally {
            release.countDown();
            ch.shutdownNow();
            server.shutdownNow();
        }
    }
}
