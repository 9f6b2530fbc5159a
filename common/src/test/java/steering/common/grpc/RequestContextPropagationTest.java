package steering.common.grpc;

import io.grpc.*;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import steering.v1.GetModelInfoRequest;
import steering.v1.ModelInfo;
import steering.v1.ModelServiceGrpc;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A "gateway" and a "model-service" on loopback, both with {@link RequestLogInterceptor}; the gateway's handler
 * calls model-service through a {@link ChannelFactory} channel. The request id the client sends (or the one the
 * gateway makes) reaches model-service's headers and both services' MDC, and the OpenTelemetry trace of the
 * gateway's server span continues in model-service's span (in-memory exporter: same trace id, parent = the
 * gateway's span).
 */
class RequestContextPropagationTest {
    static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

    InMemorySpanExporter spans;
    OpenTelemetrySdk otel;
    Tracer tracer;
    Server gateway, model;
    ManagedChannel toModel, toGateway;
    final Map<String, String> seen = new ConcurrentHashMap<>();

    /** What Quarkus' gRPC server instrumentation does: a SERVER span from the incoming headers, current while handlers run. */
    ServerInterceptor serverSpans(String service) {
        TextMapPropagator propagator = otel.getPropagators().getTextMapPropagator();
        TextMapGetter<Metadata> getter = new TextMapGetter<>() {
            @Override
            public Iterable<String> keys(Metadata carrier) {
                return carrier.keys();
            }

            @Override
            public String get(Metadata carrier, String key) {
                return carrier == null ? null : carrier.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
            }
        };
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                io.opentelemetry.context.Context parent = propagator.extract(io.opentelemetry.context.Context.root(), headers, getter);
                Span span = tracer.spanBuilder(service + " " + call.getMethodDescriptor().getFullMethodName())
                        .setParent(parent).setSpanKind(SpanKind.SERVER).startSpan();
                io.opentelemetry.context.Context ctx = parent.with(span);
                ServerCall<Q, R> ending = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void close(Status status, Metadata trailers) {
                        span.end();
                        super.close(status, trailers);
                    }
                };
                ServerCall.Listener<Q> l;
                try (Scope ignored = ctx.makeCurrent()) {
                    l = next.startCall(ending, headers);
                }
                return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(l) {
                    @Override
                    public void onHalfClose() {
                        try (Scope ignored = ctx.makeCurrent()) {
                            super.onHalfClose();
                        }
                    }
                };
            }
        };
    }

    @BeforeEach
    void start() throws Exception {
        spans = InMemorySpanExporter.create();
        otel = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .setPropagators(io.opentelemetry.context.propagation.ContextPropagators.create(ChannelFactory.w3c())).build();
        tracer = otel.getTracer("test");

        // model-service: records what arrives
        model = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(new ModelServiceGrpc.ModelServiceImplBase() {
                    @Override
                    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
                        seen.put("model.mdc", String.valueOf(MDC.get(RequestIds.MDC_KEY)));
                        seen.put("model.context", String.valueOf(RequestIds.current()));
                        out.onNext(ModelInfo.newBuilder().setModelId("m").build());
                        out.onCompleted();
                    }
                }, new ServerInterceptor() {
                    @Override
                    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                        seen.put("model.header", String.valueOf(headers.get(RequestIds.HEADER)));
                        seen.put("model.traceparent", String.valueOf(headers.get(TRACEPARENT)));
                        return next.startCall(call, headers);
                    }
                }, serverSpans("model-service"), new RequestLogInterceptor())).build().start();
        toModel = new ChannelFactory(MeshTls.PLAINTEXT, otel.getPropagators().getTextMapPropagator())
                .channel("127.0.0.1:" + model.getPort(), 1 << 20);

        // gateway: relays to model-service while serving
        gateway = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(new ModelServiceGrpc.ModelServiceImplBase() {
                    @Override
                    public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
                        seen.put("gateway.mdc", String.valueOf(MDC.get(RequestIds.MDC_KEY)));
                        seen.put("gateway.trace", Span.current().getSpanContext().getTraceId());
                        seen.put("gateway.span", Span.current().getSpanContext().getSpanId());
                        out.onNext(ModelServiceGrpc.newBlockingStub(toModel).withDeadlineAfter(10, TimeUnit.SECONDS).getModelInfo(request));
                        out.onCompleted();
                    }
                }, serverSpans("gateway"), new RequestLogInterceptor())).build().start();
        toGateway = ManagedChannelBuilder.forAddress("127.0.0.1", gateway.getPort()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        toGateway.shutdownNow();
        toModel.shutdownNow();
        gateway.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        model.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        otel.close();
    }

    private Metadata call(Metadata headers) {
        AtomicReference<Metadata> response = new AtomicReference<>();
        ModelServiceGrpc.newBlockingStub(toGateway)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers),
                        MetadataUtils.newCaptureMetadataInterceptor(response, new AtomicReference<>()))
                .withDeadlineAfter(10, TimeUnit.SECONDS).getModelInfo(GetModelInfoRequest.getDefaultInstance());
        return response.get();
    }

    @Test
    void theCallersRequestIdReachesModelServiceAndBothLogs() {
        Metadata h = new Metadata();
        h.put(RequestIds.HEADER, "req-42");
        Metadata response = call(h);
        assertEquals("req-42", response.get(RequestIds.HEADER), "the gateway answers with the request id");
        assertEquals("req-42", seen.get("gateway.mdc"));
        assertEquals("req-42", seen.get("model.header"));
        assertEquals("req-42", seen.get("model.mdc"));
        assertEquals("req-42", seen.get("model.context"));
        assertNull(MDC.get(RequestIds.MDC_KEY), "the MDC is restored after the call");
    }

    @Test
    void aRequestIdIsMadeWhenTheCallerSendsNone() {
        Metadata response = call(new Metadata());
        String id = response.get(RequestIds.HEADER);
        assertNotNull(id);
        assertEquals(36, id.length(), id);
        assertEquals(id, seen.get("gateway.mdc"));
        assertEquals(id, seen.get("model.header"));
        assertEquals(id, seen.get("model.mdc"));

        Metadata bad = new Metadata();
        bad.put(RequestIds.HEADER, "x".repeat(200));
        assertNotEquals("x".repeat(200), call(bad).get(RequestIds.HEADER), "an unusable id is replaced");
    }

    @Test
    void theTraceContinuesInModelService() {
        Span client = tracer.spanBuilder("client").setSpanKind(SpanKind.CLIENT).startSpan();
        Metadata h = new Metadata();
        otel.getPropagators().getTextMapPropagator().inject(io.opentelemetry.context.Context.root().with(client), h,
                (carrier, key, value) -> carrier.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value));
        call(h);
        client.end();

        String trace = client.getSpanContext().getTraceId();
        assertEquals(trace, seen.get("gateway.trace"), "the gateway's span continues the caller's trace");
        String traceparent = seen.get("model.traceparent");
        assertEquals("00-" + trace + "-" + seen.get("gateway.span") + "-01", traceparent,
                "model-service gets the gateway's span as parent");

        List<SpanData> finished = spans.getFinishedSpanItems();
        SpanData gw = finished.stream().filter(s -> s.getName().startsWith("gateway ")).findFirst().orElseThrow();
        SpanData ms = finished.stream().filter(s -> s.getName().startsWith("model-service ")).findFirst().orElseThrow();
        assertEquals(trace, gw.getTraceId());
        assertEquals(trace, ms.getTraceId());
        assertEquals(gw.getSpanId(), ms.getParentSpanId());
        assertEquals(client.getSpanContext().getSpanId(), gw.getParentSpanId());
    }

    @Test
    void noTraceNoTraceparent() {
        call(new Metadata());
        String tp = seen.get("model.traceparent");
        // the gateway's own server span is a root here: model-service still gets it as parent
        assertTrue(tp.startsWith("00-" + seen.get("gateway.trace") + "-" + seen.get("gateway.span")), tp);
    }
}
