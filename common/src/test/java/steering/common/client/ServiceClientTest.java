package steering.common.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import steering.common.grpc.ChannelFactory;

import java.net.ServerSocket;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

class ServiceClientTest {

    @Test
    void anUnreachableServiceIsUnavailableNamingItOnce() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        try (ModelClient model = new ModelClient("127.0.0.1:" + closed, ChannelFactory.plaintext(), 10)) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, model::info);
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
            String d = e.getStatus().getDescription();
            assertTrue(d.startsWith("model-service at 127.0.0.1:" + closed + " is unavailable: "), d);
            assertEquals(d.indexOf("model-service at"), d.lastIndexOf("model-service at"), d);
        }
    }

    @Test
    void aDependencysFieldIsRestatedAsOurs() {
        UnaryOperator<String> dropping = ServiceClient.numbered("inputs", 32, i -> "contrast.positive[" + i + "]");
        assertEquals("contrast.positive[35]", dropping.apply("inputs[3].text"));
        assertEquals("contrast.positive[32]", dropping.apply("inputs[0]"));
        assertNull(dropping.apply("inputs"));
        assertNull(dropping.apply("inputs_x[1]"));

        UnaryOperator<String> keeping = ServiceClient.numberedKeepingPath("inputs", 0, i -> "input.texts.prompts[" + i + "]");
        assertEquals("input.texts.prompts[3].text", keeping.apply("inputs[3].text"));
        assertEquals("input.texts.prompts[0]", keeping.apply("inputs[0]"));
        assertNull(keeping.apply("hooks[0]"));
        assertNull(ServiceClient.numberedKeepingPath("inputs", 0, i -> null).apply("inputs[1]"));
    }
}
