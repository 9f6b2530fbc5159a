package steering.common.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.Test;
import steering.v1.*;

import java.net.InetSocketAddress;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static steering.common.grpc.RawCalls.concat;
import static steering.common.grpc.RawCalls.field;

class RequestValidationTest {
    static final byte[] BAD_UTF8 = {'h', 'i', (byte) 0xC3, (byte) 0x28, (byte) 0xFF};

    @Test
    void validMessagesPass() {
        GenerateRequest ok = GenerateRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("héllo ✓ 😀"))
                .setSampling(SamplingParams.newBuilder().addStop("a").addStop("b").setMaxTokens(3))
                .addInterventions(Intervention.newBuilder().setPositions(PositionPolicy.FROM_INDEX)).build();
        assertNull(RequestValidation.problem(ok.toByteArray(), GenerateRequest.getDescriptor()));
        assertNull(RequestValidation.problem(new byte[0], GenerateRequest.getDescriptor()));
    }

    @Test
    void invalidUtf8IsNamedByItsPath() {
        // GenerateRequest.prompt(1).text(1)
        byte[] msg = field(1, field(1, BAD_UTF8));
        assertEquals("prompt.text: invalid UTF-8", RequestValidation.problem(msg, GenerateRequest.getDescriptor()));
        // sampling(2).stop(6): the second stop string is bad
        byte[] stops = field(2, concat(field(6, "ok".getBytes()), field(6, BAD_UTF8)));
        assertEquals("sampling.stop[1]: invalid UTF-8", RequestValidation.problem(stops, GenerateRequest.getDescriptor()));
        // CaptureActivationsRequest.inputs(1)[2].chat(3).messages(1)[0].content(2)
        byte[] chat = field(3, field(1, field(2, BAD_UTF8)));
        byte[] capture = concat(field(1, field(1, "a".getBytes())), field(1, field(1, "b".getBytes())), field(1, chat));
        assertEquals("inputs[2].chat.messages[0].content: invalid UTF-8",
                RequestValidation.problem(capture, CaptureActivationsRequest.getDescriptor()));
    }

    @Test
    void unknownEnumNumbersAreNamedWithTheAllowedValues() {
        byte[] capture = CaptureActivationsRequest.newBuilder().setReductionValue(99).build().toByteArray();
        assertEquals("reduction: 99 is not a known Reduction; allowed: REDUCTION_UNSPECIFIED (0), PER_TOKEN (1), MEAN (2)",
                RequestValidation.problem(capture, CaptureActivationsRequest.getDescriptor()));
        byte[] negative = GenerateRequest.newBuilder().addInterventions(Intervention.getDefaultInstance())
                .addInterventions(Intervention.newBuilder().setPositionsValue(-1)).build().toByteArray();
        assertTrue(RequestValidation.problem(negative, GenerateRequest.getDescriptor())
                .startsWith("interventions[1].positions: -1 is not a known PositionPolicy; allowed: POSITION_POLICY_UNSPECIFIED (0), ALL (1)"));
    }

    @Test
    void bytesThatAreNoMessageAreRefused() {
        Random random = new Random(16);
        int refused = 0;
        for (int i = 0; i < 200; i++) {
            byte[] garbage = new byte[1 + random.nextInt(64)];
            random.nextBytes(garbage);
            String p = RequestValidation.problem(garbage, GenerateRequest.getDescriptor());
            if (p != null) {
                refused++;
                assertTrue(p.contains(": invalid UTF-8") || p.contains(" is not a ")
                        || p.startsWith("the request is not a valid steering.v1.GenerateRequest"), p);
            }
        }
        assertTrue(refused > 150, refused + " of 200 random messages refused");
        byte[] truncated = field(1, field(1, "hello".getBytes()));
        byte[] cut = java.util.Arrays.copyOf(truncated, truncated.length - 2);
        assertTrue(RequestValidation.problem(cut, GenerateRequest.getDescriptor())
                .startsWith("the request is not a valid steering.v1.GenerateRequest ("));
    }

    /** The checks on a served method: refusals are INVALID_ARGUMENT, valid requests reach the handler. */
    @Test
    void aServedMethodAnswersRefusalsWithInvalidArgument() throws Exception {
        ModelServiceGrpc.AsyncService tokenizer = new ModelServiceGrpc.AsyncService() {
            @Override
            public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> out) {
                out.onNext(TokenizeResponse.newBuilder().addTokens(request.getPrompt().getText()).build());
                out.onCompleted();
            }
        };
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(RequestValidation.validated(ModelServiceGrpc.bindService(tokenizer))).build().start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        try {
            Status bad = RawCalls.call(channel, ModelServiceGrpc.getTokenizeMethod(), field(1, field(1, BAD_UTF8)));
            assertEquals(Status.Code.INVALID_ARGUMENT, bad.getCode());
            assertEquals("prompt.text: invalid UTF-8", bad.getDescription());
            Status garbage = RawCalls.call(channel, ModelServiceGrpc.getTokenizeMethod(), new byte[]{(byte) 0xFF, 1, 2});
            assertEquals(Status.Code.INVALID_ARGUMENT, garbage.getCode());
            assertTrue(garbage.getDescription().startsWith("the request is not a valid steering.v1.TokenizeRequest"), garbage.getDescription());
            TokenizeResponse ok = ModelServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .tokenize(TokenizeRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("fine")).build());
            assertEquals("fine", ok.getTokens(0));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** A status that echoes a huge value leaves with a bounded description (a 100 KB one reached clients as INTERNAL). */
    @Test
    void everyStatusLeavesWithABoundedDescription() throws Exception {
        ModelServiceGrpc.AsyncService echo = new ModelServiceGrpc.AsyncService() {
            @Override
            public void tokenize(TokenizeRequest request, StreamObserver<TokenizeResponse> out) {
                out.onError(Errors.notFound("no such thing: " + request.getPrompt().getText()));
            }
        };
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(RequestValidation.validated(ModelServiceGrpc.bindService(echo))).build().start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        try {
            Status s = RawCalls.status(() -> ModelServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .tokenize(TokenizeRequest.newBuilder().setPrompt(Prompt.newBuilder().setText("x".repeat(100_000))).build()));
            assertEquals(Status.Code.NOT_FOUND, s.getCode(), s.toString());
            assertEquals(Errors.MAX_DESCRIPTION, s.getDescription().length());
            assertTrue(s.getDescription().startsWith("no such thing: xxx") && s.getDescription().endsWith("..."));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
