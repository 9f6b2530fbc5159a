package steering.common.client;

import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.ChannelFactory;
import steering.common.grpc.Errors;

import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The base of the mesh's clients, one per service ({@link ModelClient}, {@link SaeClient}, {@link VectorClient}),
 * used by every service, the gateway and {@code steer}. A channel to another service of the mesh, with plaintext or
 * TLS, request ids and trace context on every call (see {@link ChannelFactory}). Calls made while serving a request inherit that request's deadline
 * (grpc-java takes the earlier of the current Context's deadline and the call's own); calls made by a long-running
 * operation get {@code deadlineSeconds} each. An unreachable or timed-out dependency becomes UNAVAILABLE naming it.
 */
public abstract class ServiceClient implements AutoCloseable {
    /** The largest answer a client takes by default (captures and SAE directions are large). */
    public static final int MAX_INBOUND_BYTES = 256 << 20;

    protected final String name;
    protected final String address;
    protected final ManagedChannel channel;
    private final boolean ownsChannel;
    protected final long deadlineSeconds;

    /** A channel of its own from {@code channels} (plaintext or TLS, request ids and trace context on every call). */
    protected ServiceClient(String name, String address, ChannelFactory channels, long deadlineSeconds) {
        this(name, address, channels.channel(name, address, MAX_INBOUND_BYTES), true, deadlineSeconds);
    }

    protected ServiceClient(String name, String address, ManagedChannel channel, boolean ownsChannel, long deadlineSeconds) {
        this.name = name;
        this.address = address;
        this.channel = channel;
        this.ownsChannel = ownsChannel;
        this.deadlineSeconds = deadlineSeconds;
    }

    public String address() {
        return address;
    }

    /** The service's name in messages ("model-service"). */
    public String name() {
        return name;
    }

    /**
     * The channel, for callers that need a stub of their own (streaming with flow control, their own deadline). Its
     * calls carry request ids and trace context; an UNAVAILABLE names the service.
     */
    public ManagedChannel channel() {
        return channel;
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
            String d = e.getStatus().getDescription();
            // a channel from ChannelFactory names the service already
            return Errors.unavailable(d != null && d.startsWith(name + " at ") ? d : name + " at " + address + " is unavailable: " + d);
        }
        if (c == Status.Code.CANCELLED) return e;
        if (c == Status.Code.INVALID_ARGUMENT || c == Status.Code.FAILED_PRECONDITION || c == Status.Code.RESOURCE_EXHAUSTED
                || c == Status.Code.NOT_FOUND) {
            return e.getStatus().withDescription(name + ": " + e.getStatus().getDescription()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription(name + " failed: " + c + " " + e.getStatus().getDescription()).asRuntimeException();
    }

    /**
     * {@link #wrap(StatusRuntimeException)}, but an INVALID_ARGUMENT about a field that {@code fields} maps to our
     * caller's field (see {@link Errors#restated}) names the caller's field, not the dependency's.
     */
    protected RuntimeException wrap(StatusRuntimeException e, UnaryOperator<String> fields) {
        StatusRuntimeException ours = fields == null ? null : Errors.restated(e, fields);
        return ours != null ? ours : wrap(e);
    }

    /** Maps the dependency's {@code list[k]}, or a field inside it, to our caller's {@code ours.apply(from + k)} (null: none). */
    protected static UnaryOperator<String> numbered(String list, int from, IntFunction<String> ours) {
        if (ours == null) return null;
        Pattern item = Pattern.compile(Pattern.quote(list) + "\\[(\\d+)](?:$|[.\\[])");
        return f -> {
            Matcher m = item.matcher(f);
            return m.lookingAt() ? ours.apply(from + Integer.parseInt(m.group(1))) : null;
        };
    }

    /**
     * {@link #numbered}, keeping what follows the item: the dependency's {@code list[k].text} is our caller's
     * {@code ours.apply(from + k) + ".text"} (for items that the caller sent as they are).
     */
    protected static UnaryOperator<String> numberedKeepingPath(String list, int from, IntFunction<String> ours) {
        if (ours == null) return null;
        Pattern item = Pattern.compile(Pattern.quote(list) + "\\[(\\d+)](?=$|[.\\[])");
        return f -> {
            Matcher m = item.matcher(f);
            if (!m.lookingAt()) return null;
            String mine = ours.apply(from + Integer.parseInt(m.group(1)));
            return mine == null ? null : mine + f.substring(m.end());
        };
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
