package steering.gateway;

import ai.djl.ndarray.NDManager;
import steering.model.engine.GenerationEngine;
import steering.model.grpc.ModelServiceImpl;
import steering.model.loader.LoadedModel;
import steering.model.loader.ModelLoader;

import java.io.IOException;
import java.nio.file.Path;

/** The tiny real model of the gateway's mesh tests (stories260K, context 512, batch 8), closed with the test. */
record StoriesModel(NDManager manager, LoadedModel model, GenerationEngine engine) implements AutoCloseable {
    static Path shared() {
        return Path.of(System.getProperty("steering.shared.dir", "../shared")).toAbsolutePath().normalize();
    }

    static StoriesModel load() throws IOException {
        System.setProperty("ai.djl.offline", "true");
        NDManager manager = NDManager.newBaseManager();
        LoadedModel model = ModelLoader.load(shared().resolve("models/stories260K-hf"), manager, 512);
        return new StoriesModel(manager, model, new GenerationEngine(model, 8, 64));
    }

    /** model-service over it, as its tests serve it. */
    ModelServiceImpl service() {
        return new ModelServiceImpl(engine, 512);
    }

    @Override
    public void close() throws Exception {
        engine.close();
        model.close();
        manager.close();
    }
}
