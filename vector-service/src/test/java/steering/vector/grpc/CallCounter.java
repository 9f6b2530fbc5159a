package steering.vector.grpc;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import steering.v1.CaptureActivationsRequest;
import steering.v1.GenerateRequest;
import steering.v1.Prompt;
import steering.v1.ScoreRequest;
import steering.v1.TokenizeRequest;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts what model-service receives, so that tests can count round trips: calls by method ("Tokenize"), and the
 * texts it has to tokenize (text and chat prompts, Score's continuation_text), whichever call carries them.
 */
final class CallCounter implements ServerInterceptor {
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final AtomicInteger texts = new AtomicInteger();

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        calls.computeIfAbsent(call.getMethodDescriptor().getBareMethodName(), m -> new AtomicInteger()).incrementAndGet();
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            @Override
            public void onMessage(Q message) {
                texts.addAndGet(textsIn(message));
                super.onMessage(message);
            }
        };
    }

    /** Calls of {@code method} so far. */
    int count(String method) {
        AtomicInteger n = calls.get(method);
        return n == null ? 0 : n.get();
    }

    /** Texts model-service has been sent to tokenize so far. */
    int texts() {
        return texts.get();
    }

    private static int textsIn(Object m) {
        if (m instanceof TokenizeRequest t) return text(t.getPrompt());
        if (m instanceof GenerateRequest g) return text(g.getPrompt());
        if (m instanceof ScoreRequest s) return text(s.getPrompt()) + (s.getContinuationText().isEmpty() ? 0 : 1);
        if (m instanceof CaptureActivationsRequest c) return c.getInputsList().stream().mapToInt(CallCounter::text).sum();
        return 0;
    }

    private static int text(Prompt p) {
        return p.getKindCase() == Prompt.KindCase.TEXT || p.getKindCase() == Prompt.KindCase.CHAT ? 1 : 0;
    }
}
