package steering.common.grpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.WireFormat;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The wire checks every service of the mesh applies to every request before its handler sees it: a string field
 * holding invalid UTF-8, an enum field holding a number its enum does not define, and bytes that are not the
 * request message at all get INVALID_ARGUMENT naming the field ({@code prompt.text: invalid UTF-8},
 * {@code format: 99 is not a known VectorFileFormat; allowed: ...}) or the message type, never UNKNOWN or INTERNAL.
 *
 * <p>This is a request marshaller, not a ServerInterceptor: grpc-java parses a request before any interceptor's
 * listener sees it, and a parse failure (a proto3 string with invalid UTF-8 is one) ends the call with UNKNOWN
 * "Application error processing RPC". So {@link #validated} gives each method a marshaller that walks the message's
 * wire bytes along its descriptor, then parses them, and hands either the message or the refusal to a handler that
 * answers the refusal; each service's {@code bindService()} goes through it, so a Quarkus server and the plain
 * servers of the tests serve the same checks, inside every interceptor (refusals are logged, API keys come first).
 */
public final class RequestValidation {
    /** protobuf-java's own nesting limit for parsing */
    static final int MAX_DEPTH = 100;

    private RequestValidation() {}

    /** {@code service} with every method whose requests are protobuf messages checked as described above. */
    public static ServerServiceDefinition validated(ServerServiceDefinition service) {
        ServiceDescriptor original = service.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) methods.add(checked(m));
        methods.forEach(m -> descriptor.addMethod(m.getMethodDescriptor()));
        ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(out::addMethod);
        return out.build();
    }

    private static <Q, R> ServerMethodDefinition<?, R> checked(ServerMethodDefinition<Q, R> method) {
        MethodDescriptor<Q, R> md = method.getMethodDescriptor();
        if (!(md.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<Q> p)
                || !(p.getMessagePrototype() instanceof Message prototype)) {
            return method;
        }
        MethodDescriptor<Object, R> checked = md.toBuilder(new CheckingMarshaller<>(p, prototype), md.getResponseMarshaller()).build();
        return ServerMethodDefinition.create(checked, new RefusingHandler<>(method.getServerCallHandler()));
    }

    /**
     * The first problem of {@code bytes} read as a {@code type}, or null when there is none: invalid UTF-8 in a
     * string field, an unknown enum number, or a wire format that does not parse.
     */
    public static String problem(byte[] bytes, Descriptor type) {
        try {
            return check(CodedInputStream.newInstance(bytes), type, "", 0);
        } catch (IOException | RuntimeException e) {
            return notValid(type, e);
        }
    }

    private static String notValid(Descriptor type, Exception e) {
        return "the request is not a valid " + type.getFullName() + " (" + e.getMessage() + ")";
    }

    private static String check(CodedInputStream in, Descriptor type, String path, int depth) throws IOException {
        if (depth > MAX_DEPTH) throw new InvalidProtocolBufferException("messages nested more than " + MAX_DEPTH + " deep");
        Map<Integer, Integer> counts = new HashMap<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            FieldDescriptor f = type.findFieldByNumber(WireFormat.getTagFieldNumber(tag));
            int wire = WireFormat.getTagWireType(tag);
            boolean delimited = wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
            String problem = null;
            if (f != null && f.getType() == FieldDescriptor.Type.STRING && delimited) {
                String field = name(f, path, counts);
                if (!in.readBytes().isValidUtf8()) problem = field + ": invalid UTF-8";
            } else if (f != null && f.getType() == FieldDescriptor.Type.MESSAGE && delimited) {
                int limit = in.pushLimit(in.readRawVarint32());
                problem = check(in, f.getMessageType(), name(f, path, counts) + ".", depth + 1);
                in.popLimit(limit);
            } else if (f != null && f.getType() == FieldDescriptor.Type.ENUM && wire == WireFormat.WIRETYPE_VARINT) {
                problem = enumProblem(f, in.readEnum(), path, counts);
            } else if (f != null && f.getType() == FieldDescriptor.Type.ENUM && delimited && f.isRepeated()) {
                int limit = in.pushLimit(in.readRawVarint32());
                while (problem == null && in.getBytesUntilLimit() > 0) problem = enumProblem(f, in.readEnum(), path, counts);
                in.popLimit(limit);
            } else if (!in.skipField(tag)) {
                throw new InvalidProtocolBufferException("an end-group tag without its start");
            }
            if (problem != null) return problem;
        }
        return null;
    }

    /** The field's path, with the index of this occurrence for a repeated field ("inputs[2]"). */
    private static String name(FieldDescriptor f, String path, Map<Integer, Integer> counts) {
        if (!f.isRepeated()) return path + f.getName();
        return path + f.getName() + "[" + (counts.merge(f.getNumber(), 1, Integer::sum) - 1) + "]";
    }

    private static String enumProblem(FieldDescriptor f, int number, String path, Map<Integer, Integer> counts) {
        String field = name(f, path, counts);
        EnumDescriptor e = f.getEnumType();
        if (e.findValueByNumber(number) != null) return null;
        return field + ": " + number + " is not a known " + e.getName() + "; allowed: "
                + e.getValues().stream().map(v -> v.getName() + " (" + v.getNumber() + ")").collect(Collectors.joining(", "));
    }

    /** A request that failed the checks; what the client is told. */
    private record Refused(String description) {}

    /** Checks and parses a request; returns the message, or a {@link Refused}. */
    private static final class CheckingMarshaller<Q> implements MethodDescriptor.Marshaller<Object> {
        private final MethodDescriptor.PrototypeMarshaller<Q> original;
        private final Message prototype;

        CheckingMarshaller(MethodDescriptor.PrototypeMarshaller<Q> original, Message prototype) {
            this.original = original;
            this.prototype = prototype;
        }

        @Override
        @SuppressWarnings("unchecked") // a server serializes no requests; only messages of Q come here
        public InputStream stream(Object value) {
            return original.stream((Q) value);
        }

        @Override
        public Object parse(InputStream stream) {
            Descriptor type = prototype.getDescriptorForType();
            try {
                byte[] bytes = stream.readAllBytes();
                String problem = problem(bytes, type);
                return problem != null ? new Refused(problem) : prototype.getParserForType().parseFrom(bytes);
            } catch (IOException e) {
                return new Refused(notValid(type, e));
            }
        }
    }

    /** Passes parsed requests to the method's handler and answers a refused one with INVALID_ARGUMENT. */
    private static final class RefusingHandler<Q, R> implements ServerCallHandler<Object, R> {
        private final ServerCallHandler<Q, R> handler;

        RefusingHandler(ServerCallHandler<Q, R> handler) {
            this.handler = handler;
        }

        @Override
        @SuppressWarnings("unchecked") // the handler sends responses of R and receives only what onMessage passes: Q
        public ServerCall.Listener<Object> startCall(ServerCall<Object, R> original, Metadata headers) {
            // every status leaves with a description short enough for the client's header limit (8 KiB in grpc-java:
            // a longer one, e.g. echoing a 100 KB id, reaches the client as INTERNAL "RST_STREAM ... PROTOCOL_ERROR")
            ServerCall<Object, R> call = new ForwardingServerCall.SimpleForwardingServerCall<>(original) {
                @Override
                public void close(Status status, Metadata trailers) {
                    super.close(Errors.bounded(status), trailers);
                }
            };
            ServerCall.Listener<Q> next = handler.startCall((ServerCall<Q, R>) (ServerCall<?, R>) call, headers);
            return new ServerCall.Listener<>() {
                private boolean refused;

                @Override
                public void onMessage(Object message) {
                    if (refused) return;
                    if (message instanceof Refused r) {
                        refused = true;
                        call.close(Status.INVALID_ARGUMENT.withDescription(r.description()), new Metadata());
                    } else {
                        next.onMessage((Q) message);
                    }
                }

                @Override
                public void onHalfClose() {
                    if (!refused) next.onHalfClose();
                }

                @Override
                public void onCancel() {
                    next.onCancel();
                }

                @Override
                public void onComplete() {
                    next.onComplete();
                }

                @Override
                public void onReady() {
                    next.onReady();
                }
            };
        }
    }
}
