package steering.common.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.v1.GetModelInfoRequest;
import steering.v1.ModelInfo;
import steering.v1.ModelServiceGrpc;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A real grpc-java server on loopback serving TLS with required client certificates (make-certs.sh's
 * certificates): a client with the mesh's certificate gets through, one without a client certificate, one with a
 * certificate of another CA and a plaintext one are refused (UNAVAILABLE). Bad settings fail naming the setting.
 */
class MeshTlsTest {
    @TempDir
    static Path tmp;
    static Path certs;
    static Server server;
    static int port;

    static class Info extends ModelServiceGrpc.ModelServiceImplBase {
        @Override
        public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
            out.onNext(ModelInfo.newBuilder().setModelId("tls-test").build());
            out.onCompleted();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        certs = TestCerts.make(tmp.resolve("certs"));
        MeshTls serverTls = MeshTls.of(certs.resolve("ca.crt").toString(), certs.resolve("server.crt").toString(),
                certs.resolve("server.key").toString(), "REQUIRED");
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), serverTls.serverCredentials())
                .addService(new Info()).build().start();
        port = server.getPort();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (server != null) server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static String call(MeshTls tls, String host) {
        ManagedChannel ch = new ChannelFactory(tls, ChannelFactory.w3c()).channel(host + ":" + port, 1 << 20);
        try {
            return ModelServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getModelInfo(GetModelInfoRequest.getDefaultInstance()).getModelId();
        } finally {
            ch.shutdownNow();
        }
    }

    private static String file(String name) {
        return certs.resolve(name).toString();
    }

    @Test
    void clientWithTheMeshCertificateGetsThrough() {
        assertEquals("tls-test", call(MeshTls.of(file("ca.crt"), file("server.crt"), file("server.key"), null), "127.0.0.1"));
        // the client certificate of steer / grpcurl, and the host name the certificate names
        assertEquals("tls-test", call(MeshTls.of(file("ca.crt"), file("client.crt"), file("client.key"), null), "localhost"));
    }

    @Test
    void clientWithoutCertificateIsRefused() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> call(MeshTls.of(file("ca.crt"), null, null, null), "127.0.0.1"));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    }

    @Test
    void plaintextClientIsRefused() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> call(MeshTls.PLAINTEXT, "127.0.0.1"));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    }

    @Test
    void certificateOfAnotherCaIsRefusedAndTheServerIsNotTrusted() throws Exception {
        Path other = TestCerts.make(tmp.resolve("other"));
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> call(MeshTls.of(file("ca.crt"),
                other.resolve("client.crt").toString(), other.resolve("client.key").toString(), null), "127.0.0.1"));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
        // a client trusting only the other CA does not accept our server
        e = assertThrows(StatusRuntimeException.class, () -> call(MeshTls.of(other.resolve("ca.crt").toString(),
                other.resolve("client.crt").toString(), other.resolve("client.key").toString(), null), "127.0.0.1"));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    }

    @Test
    void badSettingsNameTheSetting() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MeshTls.of(tmp.resolve("missing.crt").toString(), null, null, null));
        assertTrue(e.getMessage().startsWith("STEERING_TLS_CA (steering.tls.ca)=") && e.getMessage().endsWith("no such file"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> MeshTls.of(file("ca.crt"), file("server.crt"), null, null));
        assertTrue(e.getMessage().startsWith("STEERING_TLS_KEY (steering.tls.key) is not set"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> MeshTls.of(null, file("server.crt"), file("server.key"), "REQUIRED"));
        assertTrue(e.getMessage().contains("STEERING_TLS_CLIENT_AUTH (steering.tls.client-auth)=REQUIRED needs STEERING_TLS_CA"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> MeshTls.of(file("ca.crt"), file("server.crt"), file("server.key"), "always"));
        assertTrue(e.getMessage().contains("expected NONE, REQUEST or REQUIRED"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> MeshTls.of(file("server.key"), null, null, null));
        assertTrue(e.getMessage().contains("STEERING_TLS_CA") && e.getMessage().contains("not a PEM file with a CERTIFICATE"), e.getMessage());

        Path junk = Files.writeString(tmp.resolve("junk.crt"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        e = assertThrows(IllegalArgumentException.class, () -> MeshTls.of(junk.toString(), null, null, null));
        assertTrue(e.getMessage().contains("not a valid X.509 certificate"), e.getMessage());

        Map<String, String> env = new HashMap<>();
        assertFalse(MeshTls.from(env).clientTls());
        env.put(MeshTls.CA, " ");
        assertEquals(MeshTls.PLAINTEXT, MeshTls.from(env), "blank settings count as unset");
    }
}
