package steering.common.grpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;

/**
 * Names the dependency in an UNAVAILABLE that a call to it ends with: grpc-java's own says only "io exception" or
 * "Connection refused", which a caller two services away cannot act on.
 */
final class NamedUnavailable implements ClientInterceptor {
    private final String prefix;

    NamedUnavailable(String name, String target) {
        this.prefix = (name == null ? "the service" : name) + " at " + target + " is unavailable: ";
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        if (status.getCode() == Status.Code.UNAVAILABLE) {
                            String d = status.getDescription();
                            status = status.withDescription(prefix + (d == null ? "no connection" : d));
                        }
                        super.onClose(status, trailers);
                    }
                }, headers);
            }
        };
    }
}
