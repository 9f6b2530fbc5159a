package steering.gateway.playground;

import steering.common.steer.VectorTensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.StatusRuntimeException;
import steering.common.grpc.Errors;
import steering.gateway.mesh.MeshClients;
import steering.v1.*;

import java.util.concurrent.TimeUnit;

/**
 * What the playground's pages show about the mesh: the model, the vector registry (a vector's method, provenance,
 * norm and calibrated scale) and the SAEs (feature search by text, a feature's density and top contexts). Tensors
 * stay out: the page shows figures, not bytes.
 */
public final class MeshViews {
    private final MeshClients mesh;
    private final long deadlineSeconds;

    public MeshViews(MeshClients mesh, long deadlineSeconds) {
        this.mesh = mesh;
        this.deadlineSeconds = deadlineSeconds;
    }

    /** ModelInfo, plus which optional services this gateway can reach. */
    public ObjectNode info() {
        ObjectNode out = PlaygroundJson.proto(mesh.modelBlocking().withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS)
                .getModelInfo(GetModelInfoRequest.getDefaultInstance()));
        out.put("vector_service", mesh.vectorBlocking() != null);
        out.put("sae_service", mesh.saeBlocking() != null);
        return out;
    }

    public ObjectNode vectors() {
        ObjectNode out = PlaygroundJson.JSON.createObjectNode();
        ArrayNode list = out.putArray("vectors");
        for (SteeringVector v : registry().listVectors(ListVectorsRequest.getDefaultInstance()).getVectorsList()) {
            list.add(withCalibratedScale(v));
        }
        return out;
    }

    /** One vector with its provenance (recipe, sources), norm and calibration; NOT_FOUND for an unknown id. */
    public ObjectNode vector(String id) {
        SteeringVector v = registry().getVector(GetVectorRequest.newBuilder().setId(id).build());
        return withCalibratedScale(v);
    }

    private static ObjectNode withCalibratedScale(SteeringVector v) {
        ObjectNode out = PlaygroundJson.proto(v.toBuilder().clearVector().clearIntervention());
        // the scale strength 1.0 means; the calibrated one when StartCalibrateScale has run
        if (v.hasCalibration()) out.put("calibrated_scale", v.getCalibration().getBestScale());
        else out.putNull("calibrated_scale");
        // the tensor ([d] or ActAdd's [n, d]) travels once, where VectorTensor reads it; ListVectors leaves it out
        Tensor data = VectorTensor.of(v);
        if (data != null) out.put("shape", data.getShapeList().toString());
        return out;
    }

    public ObjectNode saes() {
        ObjectNode out = PlaygroundJson.JSON.createObjectNode();
        ArrayNode list = out.putArray("saes");
        for (SaeInfo s : saeService().listSaes(ListSaesRequest.getDefaultInstance()).getSaesList()) {
            list.add(PlaygroundJson.proto(s.toBuilder().clearTrainingMetrics()));
        }
        return out;
    }

    /** Body: {sae_id, text, top_k?: 1..100 (10), top_contexts?: 0..20 (3)}: the features most active on the text. */
    public ObjectNode searchFeatures(JsonNode body) {
        PlaygroundJson.requireObject(body);
        SearchFeaturesRequest request = SearchFeaturesRequest.newBuilder()
                .setSaeId(PlaygroundJson.text(body, "sae_id"))
                .setPrompt(Prompt.newBuilder().setText(PlaygroundJson.text(body, "text")))
                .setTopK(PlaygroundJson.integer(body, "top_k", 10, 1, 100))
                .setTopContexts(PlaygroundJson.integer(body, "top_contexts", 3, 0, 20))
                .setExcludeBosFeatures(true).build();
        try {
            return PlaygroundJson.proto(saeService().searchFeatures(request));
        } catch (StatusRuntimeException e) {
            throw restated(e, "prompt", "text");
        }
    }

    /** A feature's statistics with its top contexts (the token marked [[like this]] in each). */
    public ObjectNode feature(String saeId, int feature, int topContexts) {
        if (topContexts < 0 || topContexts > 100) throw Errors.invalid("top_contexts", topContexts + " is outside [0, 100]");
        FeatureStatsResponse stats;
        try {
            stats = saeService().featureStats(FeatureStatsRequest.newBuilder().setSaeId(saeId).addFeatures(feature)
                    .setTopContexts(topContexts).build());
        } catch (StatusRuntimeException e) {
            throw restated(e, "features", "feature");
        }
        if (stats.getFeaturesCount() == 0) throw Errors.notFound("feature " + feature + " of SAE " + saeId + " has no statistics");
        ObjectNode out = PlaygroundJson.proto(stats.getFeatures(0));
        out.put("sae_id", saeId);
        out.put("corpus", stats.getCorpus());
        out.put("tokens", stats.getTokens());
        out.put("bos_feature", stats.getBosFeaturesList().contains(feature));
        return out;
    }

    /** sae-service's field (and what is inside it) restated as the page's field. */
    private static StatusRuntimeException restated(StatusRuntimeException e, String theirs, String ours) {
        StatusRuntimeException r = Errors.restated(e, f -> Errors.within(f, theirs) ? ours : null);
        return r == null ? e : r;
    }

    private VectorServiceGrpc.VectorServiceBlockingStub registry() {
        var stub = mesh.vectorBlocking();
        if (stub == null) throw Errors.unavailable("this gateway has no vector-service configured (steering.vector-service.address)");
        return stub.withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }

    private SaeServiceGrpc.SaeServiceBlockingStub saeService() {
        var stub = mesh.saeBlocking();
        if (stub == null) throw Errors.unavailable("this gateway has no sae-service configured (steering.sae-service.address)");
        return stub.withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS);
    }
}
