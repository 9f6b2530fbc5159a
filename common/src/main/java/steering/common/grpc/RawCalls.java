package steering.common.grpc;

import com.google.protobuf.CodedOutputStream;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * A client that sends a request's bytes as they are, as a hostile or broken client does: what generated stubs
 * cannot send (a string field holding invalid UTF-8, bytes that are no message at all). The services' tests use it
 * to check {@link RequestValidation}; build the bytes with {@link #field}.
 */
public final class RawCalls {
    /** A message as its bytes, unparsed. */
    public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private RawCalls() {}

    /** Sends {@code request} to {@code method} (unary or server-streaming); the status the call ends with. */
    public static Status call(Channel channel, MethodDescriptor<?, ?> method, byte[] request) {
        MethodDescriptor<byte[], byte[]> raw = method.toBuilder(BYTES, BYTES).build();
        try {
            Iterator<byte[]> responses = ClientCalls.blockingServerStreamingCall(channel, raw,
                    CallOptions.DEFAULT.withDeadlineAfter(120, TimeUnit.SECONDS), request);
            while (responses.hasNext()) responses.next();
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    /** The status {@code call} (a call through a generated stub) ends with: OK, or the one it throws. */
    public static Status status(Runnable call) {
        try {
            call.run();
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    /** Length-delimited field {@code number} holding {@code content} (bytes, a string's bytes or a message). */
    public static byte[] field(int number, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            CodedOutputStream c = CodedOutputStream.newInstance(out);
            c.writeByteArray(number, content);
            c.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** The fields one after the other: a message with all of them. */
    public static byte[] concat(byte[]... fields) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] f : fields) out.writeBytes(f);
        return out.toByteArray();
    }
}
