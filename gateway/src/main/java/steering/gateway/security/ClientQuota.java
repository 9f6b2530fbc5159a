package steering.gateway.security;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import steering.common.grpc.CallEnd;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admission per client: at most {@code maxCallsPerClient} gRPC calls of one client in flight at the gateway; one
 * more is RESOURCE_EXHAUSTED naming the limit. Without it one client (a ghz run, a runaway script) could fill
 * model-service's whole queue and every other client would get RESOURCE_EXHAUSTED from there instead. A client is its
 * API key when it sends one (so many pods behind one key share its quota), else its IP address. Health and
 * reflection stay open.
 */
public class ClientQuota implements ServerInterceptor {
    private final int maxCallsPerClient;
    private final ConcurrentHashMap<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

    /** @param maxCallsPerClient 0 turns the quota off */
    public ClientQuota(int maxCallsPerClient) {
        if (maxCallsPerClient < 0) throw new IllegalArgumentException("steering.gateway.max-calls-per-client must be >= 0, not " + maxCallsPerClient);
        this.maxCallsPerClient = maxCallsPerClient;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String service = call.getMethodDescriptor().getServiceName();
        if (maxCallsPerClient == 0 || service == null || service.startsWith("grpc.health.") || service.startsWith("grpc.reflection.")) {
            return next.startCall(call, headers);
        }
        String client = client(call, headers);
        AtomicInteger count = inFlight.computeIfAbsent(client, c -> new AtomicInteger());
        if (count.incrementAndGet() > maxCallsPerClient) {
            release(client, count);
            call.close(Status.RESOURCE_EXHAUSTED.withDescription("this client already has " + maxCallsPerClient
                    + " calls in flight at the gateway, its limit (steering.gateway.max-calls-per-client); retry when one ends"),
                    new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return CallEnd.start(call, headers, next, () -> release(client, count));
    }

    /** Calls in flight for {@code client} (tests, metrics). */
    int inFlight(String client) {
        AtomicInteger c = inFlight.get(client);
        return c == null ? 0 : c.get();
    }

    private void release(String client, AtomicInteger count) {
        if (count.decrementAndGet() <= 0) inFlight.remove(client, count);
    }

    /** "key:<sha-256 prefix>" for an API key (never the key itself), else "ip:<address>". */
    static String client(ServerCall<?, ?> call, Metadata headers) {
        String key = ApiKeys.presented(headers.get(ApiKeyInterceptor.AUTHORIZATION), headers.get(ApiKeyInterceptor.API_KEY));
        if (key != null) return "key:" + sha256(key).substring(0, 16);
        SocketAddress a = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        return "ip:" + (a instanceof InetSocketAddress i ? i.getAddress().getHostAddress() : String.valueOf(a));
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
