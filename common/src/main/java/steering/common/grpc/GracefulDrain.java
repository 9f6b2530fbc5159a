package steering.common.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

import java.time.Duration;

/**
 * Graceful shutdown for a gRPC server: counts the calls in flight and, once {@link #drain} is called, refuses new
 * calls with UNAVAILABLE (health checks excepted, so that probes see NOT_SERVING rather than an error) and waits until
 * the calls already running have ended, or the grace period has passed. The server is stopped after that.
 */
public class GracefulDrain implements ServerInterceptor {
    private static final String HEALTH = "grpc.health.v1.Health";

    private final Object lock = new Object();
    private int inFlight; // guarded by lock
    private volatile boolean draining;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (HEALTH.equals(call.getMethodDescriptor().getServiceName())) return next.startCall(call, headers);
        synchronized (lock) {
            if (draining) {
                call.close(Status.UNAVAILABLE.withDescription("the service is shutting down; retry (another replica, or this one after its restart)"),
                        new Metadata());
                return new ServerCall.Listener<>() {};
            }
            inFlight++;
        }
        return CallEnd.start(call, headers, next, () -> {
            synchronized (lock) {
                inFlight--;
                lock.notifyAll();
            }
        });
    }

    public int inFlight() {
        synchronized (lock) {
            return inFlight;
        }
    }

    public boolean draining() {
        return draining;
    }

    /**
     * Stops taking calls and waits up to {@code grace} for the running ones to end.
     *
     * @return the calls still running when it gave up (0: all ended)
     */
    public int drain(Duration grace) throws InterruptedException {
        long deadline = System.nanoTime() + grace.toNanos();
        synchronized (lock) {
            draining = true;
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                lock.wait(Math.max(1, left / 1_000_000));
            }
            return inFlight;
        }
    }
}
