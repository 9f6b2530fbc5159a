package steering.sae.encode;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import steering.common.npz.NpyArray;
import steering.common.npz.NpzFile;
import steering.sae.corpus.ReadableRoots;
import steering.common.client.ModelClient;
import steering.sae.store.SaeImporter;
import steering.sae.store.SaeStore;
import steering.v1.ImportSaeRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A fixture SAE of scripts/sae/make_sae_fixtures.py imported into a store in a temporary directory for one test
 * class ({@code @RegisterExtension static}), with the activations NumPy encoded for it ({@code x}, {@code [rows, 6]}),
 * and a client of a model-service that is not there: the tensor paths must never call it.
 */
final class StoredFixture implements BeforeAllCallback, AfterAllCallback {
    private final String fixture;
    private Path dir;
    private ModelClient absentModel;
    SaeStore store;
    float[] x;
    int rows;

    StoredFixture(String fixture) {
        this.fixture = fixture;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        Path source = Path.of(StoredFixture.class.getResource("/sae-fixtures/" + fixture).toURI());
        dir = Files.createTempDirectory("sae-fixture");
        store = new SaeStore(dir.resolve("saes"), 2);
        new SaeImporter(store, ReadableRoots.anywhere()).importSae("sae", ImportSaeRequest.newBuilder()
                .setPath(source.toString()).build());
        NpyArray expected = NpzFile.readAll(source.resolve("expected.npz")).get("x");
        x = expected.data();
        rows = (int) expected.shape()[0];
        absentModel = new ModelClient("127.0.0.1:1", steering.common.grpc.ChannelFactory.plaintext(), 5);
    }

    SaeStore.Lease lease() throws Exception {
        return store.acquire("sae");
    }

    SaeInputReader reader(int maxRows) {
        return new SaeInputReader(new HookCapture(absentModel), maxRows);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        absentModel.close();
        store.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
