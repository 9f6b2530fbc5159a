package steering.common.grpc;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A channel that reconnects within {@code every} of a dependency's return, however long it was gone. gRPC waits out
 * an exponential backoff between connection attempts (1 s growing by 1.6x up to 120 s), which grpc-java does not let
 * a client configure: after a 2-minute outage the gateway took 42-61 s to see model-service again. So every
 * {@code every} this calls {@link ManagedChannel#resetConnectBackoff()}, which makes the subchannels that are in
 * TRANSIENT_FAILURE try at once (and re-resolves the name); connected subchannels are not touched, so one dead pod
 * behind a headless Service is retried promptly too. The cost is one connection attempt per dead address per period.
 */
final class PromptReconnect extends ManagedChannel {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "grpc-prompt-reconnect");
        t.setDaemon(true);
        return t;
    });

    private final ManagedChannel delegate;
    private final ScheduledFuture<?> tick;

    PromptReconnect(ManagedChannel delegate, Duration every) {
        this.delegate = delegate;
        long ms = Math.max(1, every.toMillis());
        this.tick = TIMER.scheduleWithFixedDelay(() -> {
            if (delegate.isShutdown()) return;
            ConnectivityState s = delegate.getState(false);
            if (s != ConnectivityState.IDLE && s != ConnectivityState.SHUTDOWN) delegate.resetConnectBackoff();
        }, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    public ManagedChannel shutdown() {
        tick.cancel(false);
        delegate.shutdown();
        return this;
    }

    @Override
    public ManagedChannel shutdownNow() {
        tick.cancel(false);
        delegate.shutdownNow();
        return this;
    }

    @Override
    public boolean isShutdown() {
        return delegate.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return delegate.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return delegate.awaitTermination(timeout, unit);
    }

    @Override
    public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
        return delegate.newCall(method, options);
    }

    @Override
    public String authority() {
        return delegate.authority();
    }

    @Override
    public ConnectivityState getState(boolean requestConnection) {
        return delegate.getState(requestConnection);
    }

    @Override
    public void notifyWhenStateChanged(ConnectivityState source, Runnable callback) {
        delegate.notifyWhenStateChanged(source, callback);
    }

    @Override
    public void resetConnectBackoff() {
        delegate.resetConnectBackoff();
    }

    @Override
    public void enterIdle() {
        delegate.enterIdle();
    }
}
