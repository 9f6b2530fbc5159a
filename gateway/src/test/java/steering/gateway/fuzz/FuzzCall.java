package steering.gateway.fuzz;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import steering.common.grpc.RawCalls;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One call of any kind (unary, server-, client- or bidi-streaming) with a request's raw bytes, as a hostile client
 * makes it: the status it ends with and its first response (for the operation id of a Start call).
 */
final class FuzzCall {
    /** How a call ended: its status, how many responses came, the first one's bytes (null when none). */
    record Outcome(Status status, int responses, byte[] first) {}

    private FuzzCall() {}

    static Outcome call(Channel channel, MethodDescriptor<?, ?> method, byte[] request, long deadlineSeconds) throws Exception {
        MethodDescriptor<byte[], byte[]> raw = method.toBuilder(RawCalls.BYTES, RawCalls.BYTES).build();
        ClientCall<byte[], byte[]> call = channel.newCall(raw, CallOptions.DEFAULT.withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS));
        CompletableFuture<Status> closed = new CompletableFuture<>();
        int[] count = {0};
        byte[][] first = {null};
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                if (count[0]++ == 0) first[0] = message;
                call.request(1);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.request(1);
        call.sendMessage(request);
        call.halfClose();
        Status status = closed.get(deadlineSeconds + 30, TimeUnit.SECONDS);
        return new Outcome(status, count[0], first[0]);
    }
}
