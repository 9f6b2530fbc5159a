package steering.gateway.security;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import steering.v1.GetModelInfoRequest;
import steering.v1.ModelInfo;
import steering.v1.ModelServiceGrpc;

import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** The per-client quota on a real loopback server whose calls stay in flight until the test lets them end. */
class ClientQuotaTest {
    private final Semaphore entered = new Semaphore(0);
    private volatile CountDownLatch release = new CountDownLatch(1);
    private ClientQuota quota;
    private Server server;
    private ManagedChannel channel;

    /**
     * A service whose GetModelInfo answers only when the test releases it, without blocking a server thread (as the
     * gateway's own handlers do not), so a client's cancellation reaches the quota at once.
     */
    private final class Held extends ModelServiceGrpc.ModelServiceImplBase {
        @Override
        public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
            CountDownLatch gate = release;
            entered.release();
            new Thread(() -> {
                try {
                    gate.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                try {
                    out.onNext(ModelInfo.newBuilder().setModelId("held").build());
                    out.onCompleted();
                } catch (RuntimeException cancelled) {
                    // the client cancelled: nothing to answer
                }
            }, "held-answer").start();
        }
    }

    @BeforeEach
    void start() throws Exception {
        quota = new ClientQuota(2);
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(new Held(), quota)).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws Exception {
        release.countDown();
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private ModelServiceGrpc.ModelServiceFutureStub as(String key) {
        Metadata h = new Metadata();
        h.put(ApiKeyInterceptor.AUTHORIZATION, "Bearer " + key);
        return ModelServiceGrpc.newFutureStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @Test
    void aClientBeyondItsLimitIsRefusedAndOthersAreNot() throws Exception {
        var a1 = as("alice").getModelInfo(GetModelInfoRequest.getDefaultInstance());
        var a2 = as("alice").getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertTrue(entered.tryAcquire(2, 10, TimeUnit.SECONDS), "both calls reach the service");

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> ModelServiceGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer("alice")))
                        .withDeadlineAfter(10, TimeUnit.SECONDS).getModelInfo(GetModelInfoRequest.getDefaultInstance()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("2 calls in flight") && e.getStatus().getDescription().contains("max-calls-per-client"),
                e.getStatus().getDescription());

        // another key has a quota of its own
        var b = as("bob").getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertTrue(entered.tryAcquire(1, 10, TimeUnit.SECONDS), "bob's call is admitted");

        release.countDown();
        assertEquals("held", a1.get(10, TimeUnit.SECONDS).getModelId());
        assertEquals("held", a2.get(10, TimeUnit.SECONDS).getModelId());
        assertEquals("held", b.get(10, TimeUnit.SECONDS).getModelId());
        // ended calls no longer count: alice may call again
        assertEquals("held", as("alice").getModelInfo(GetModelInfoRequest.getDefaultInstance()).get(10, TimeUnit.SECONDS).getModelId());
        assertEquals(0, quota.inFlight("key:" + sha("alice")));
    }

    @Test
    void aCancelledCallFreesItsPlace() throws Exception {
        var a1 = as("carol").getModelInfo(GetModelInfoRequest.getDefaultInstance());
        var a2 = as("carol").getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertTrue(entered.tryAcquire(2, 10, TimeUnit.SECONDS));
        a1.cancel(true);
        // the server sees the cancellation asynchronously
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (quota.inFlight("key:" + sha("carol")) > 1 && System.nanoTime() < until) Thread.sleep(10);
        assertEquals(1, quota.inFlight("key:" + sha("carol")));
        var a3 = as("carol").getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertTrue(entered.tryAcquire(1, 10, TimeUnit.SECONDS), "a third call fits after the cancel");
        release.countDown();
        a2.get(10, TimeUnit.SECONDS);
        a3.get(10, TimeUnit.SECONDS);
    }

    @Test
    void withoutAKeyTheClientIsItsAddress() throws Exception {
        var stub = ModelServiceGrpc.newFutureStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        var c1 = stub.getModelInfo(GetModelInfoRequest.getDefaultInstance());
        var c2 = stub.getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertTrue(entered.tryAcquire(2, 10, TimeUnit.SECONDS));
        assertEquals(2, quota.inFlight("ip:127.0.0.1"));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ModelServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS).getModelInfo(GetModelInfoRequest.getDefaultInstance()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        release.countDown();
        c1.get(10, TimeUnit.SECONDS);
        c2.get(10, TimeUnit.SECONDS);
        assertThrows(IllegalArgumentException.class, () -> new ClientQuota(-1));
    }

    private static Metadata bearer(String key) {
        Metadata h = new Metadata();
        h.put(ApiKeyInterceptor.AUTHORIZATION, "Bearer " + key);
        return h;
    }

    private static String sha(String key) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(key.getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 16);
    }
}
