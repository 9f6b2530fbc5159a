package steering.vector.mesh;

import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.Errors;

import java.util.concurrent.TimeUnit;

/**
 * A channel to another service of the mesh. Calls made while serving a request inherit that request's deadline
 * (grpc-java takes the earlier of the current Context's deadline and the call's own); calls made by a long-running
 * operation get {@code deadlineSeconds} each. An unreachable or timed-out dependency becomes UNAVAILABLE naming it.
 */
public abstract class Dependency implements AutoCloseable {
    protected final String name;
    protected final String address;
    protected final ManagedChannel channel;
    private final boolean ownsChannel;
    protected final long deadlineSeconds;

    /** A channel of its own from {@code channels} (plaintext or TLS, request ids and trace context on every call). */
    protected Dependency(String name, String address, ChannelFactory channels, long deadlineSeconds) {
        this(name, address, channels.channel(address, 256 << 20), true, deadlineSeconds);
    }

    protected Dependency(String name, String address, ManagedChannel channel, boolean ownsChannel, long deadlineSeconds) {
        this.name = name;
        this.address = address;
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.deadlineSeconds = deadlineSeconds;
    }

    public String address() {
        return address;
    }

    /** The per-call deadline: the configured one (the current request's, if earlier, is applied by grpc-java). */
    protected Deadline deadline() {
        return Deadline.after(deadlineSeconds, TimeUnit.SECONDS);
    }

    protected CallOptions options() {
        return CallOptions.DEFAULT.withDeadline(deadline());
    }

    /** Maps a dependency's failure to what our caller should see. */
    protected RuntimeException wrap(StatusRuntimeException e) {
        Status.Code c = e.getStatus().getCode();
        if (c == Status.Code.DEADLINE_EXCEEDED) {
            Deadline mine = Context.current().getDeadline();
            if (mine != null && mine.isExpired()) {
                return Status.DEADLINE_EXCEEDED.withDescription("the deadline passed while waiting for " + name + " at " + address).asRuntimeException();
            }
            return Errors.unavailable(name + " at " + address + " did not answer within " + deadlineSeconds + " s");
        }
        if (c == Status.Code.UNAVAILABLE) {
            return Errors.unavailable(name + " at " + address + " is unavailable: " + e.getStatus().getDescription());
        }
        if (c == Status.Code.CANCELLED) return e;
        if (c == Status.Code.INVALID_ARGUMENT || c == Status.Code.FAILED_PRECONDITION || c == Status.Code.RESOURCE_EXHAUSTED
                || c == Status.Code.NOT_FOUND) {
            return e.getStatus().withDescription(name + ": " + e.getStatus().getDescription()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription(name + " failed: " + c + " " + e.getStatus().getDescription()).asRuntimeException();
    }

    @Override
    public void close() {
        if (!ownsChannel) return;
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
