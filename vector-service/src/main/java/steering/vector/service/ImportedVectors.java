package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.vector.registry.VectorFiles;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** A vector file: our safetensors or a llama.cpp / repeng control-vector GGUF. */
record ImportedVectors(RecipeInputs in) {
    SteeringVector.Builder build(ImportFileRecipe r, ModelInfo info) throws IOException {
        byte[] bytes = r.getData().toByteArray();
        if (bytes.length == 0) throw Errors.invalid("file.data", "the file is empty");
        VectorFileFormat format = r.getFormat() == VectorFileFormat.VECTOR_FILE_FORMAT_UNSPECIFIED ? VectorFiles.detect(bytes) : r.getFormat();
        return switch (format) {
            case VECTOR_FILE_FORMAT_SAFETENSORS -> importSafetensors(r, bytes, info);
            case VECTOR_FILE_FORMAT_GGUF -> importGguf(r, bytes, info);
            default -> throw Errors.invalid("file.format", "the file is neither safetensors nor GGUF; set format to "
                    + "VECTOR_FILE_FORMAT_SAFETENSORS or VECTOR_FILE_FORMAT_GGUF");
        };
    }

    private SteeringVector.Builder importSafetensors(ImportFileRecipe r, byte[] bytes, ModelInfo info) {
        VectorFiles.SafetensorsVector f;
        try {
            f = VectorFiles.readSafetensors(bytes);
        } catch (IOException e) {
            throw Errors.invalid("file.data", "not a readable safetensors vector: " + e.getMessage());
        }
        SteeringVector described = f.described();
        String fileModel = described != null ? described.getModelId() : f.metadata().getOrDefault("model_id", "");
        if (!fileModel.isEmpty() && !fileModel.equals(info.getModelId())) {
            throw Errors.invalid("file.data", "the vector was built on model " + fileModel + ", but model-service serves " + info.getModelId());
        }
        String hookName = !r.getHook().getName().isEmpty() ? r.getHook().getName()
                : described != null ? described.getHook().getName() : f.metadata().getOrDefault("hook", "");
        if (hookName.isEmpty()) throw Errors.invalid("file.hook.name", "the file names no hook point; give one");
        String hook = in.model().checkHook(HookPoint.newBuilder().setName(hookName).build(), "file.hook.name");
        PositionPolicy policy = described != null && described.getPositions() != PositionPolicy.POSITION_POLICY_UNSPECIFIED
                ? described.getPositions() : f.shape().length == 2 && f.shape()[0] > 1 ? PositionPolicy.PROMPT_FRONT : PositionPolicy.ALL;
        List<Long> shape = new ArrayList<>();
        for (long s : f.shape()) shape.add(s);
        long[] s = RecipeInputs.checkShape(shape, f.data(), info, policy, "file.data");
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_IMPORTED)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(f.data(), s))
                .setPositions(policy)
                .addSources("file:safetensors (" + bytes.length + " bytes)");
        if (described != null) {
            b.setFromIndex(described.getFromIndex()).setPositionMarker(described.getPositionMarker())
                    .setDefaultScale(described.getDefaultScale() != 0 ? described.getDefaultScale() : 1.0)
                    .addAllFeatures(described.getFeaturesList()).setSaeId(described.getSaeId())
                    .setApproximatorId(described.getApproximatorId())
                    .setKind(described.getKind())
                    .putMetadata("imported_method", described.getMethod().name())
                    .putMetadata("imported_id", described.getId());
            if (described.hasCalibration()) b.setCalibration(described.getCalibration());
            if (described.hasValue()) b.setValue(described.getValue());
        } else {
            b.setDefaultScale(1.0);
        }
        return b;
    }

    private SteeringVector.Builder importGguf(ImportFileRecipe r, byte[] bytes, ModelInfo info) {
        VectorFiles.ControlVector cv;
        try {
            cv = VectorFiles.readGguf(bytes);
        } catch (IOException e) {
            throw Errors.invalid("file.data", "not a readable GGUF file: " + e.getMessage());
        }
        if (!"controlvector".equals(cv.architecture())) {
            throw Errors.invalid("file.data", "general.architecture is '" + cv.architecture() + "', a control vector has 'controlvector'");
        }
        if (cv.directions().isEmpty()) throw Errors.invalid("file.data", "the file holds no direction.N tensor");
        int layer;
        if (r.hasGgufLayer()) {
            layer = r.getGgufLayer();
            if (!cv.directions().containsKey(layer)) {
                throw Errors.invalid("file.gguf_layer", layer + " is not in the file; it holds direction." + cv.directions().keySet());
            }
        } else if (cv.directions().size() == 1) {
            layer = cv.directions().firstKey();
        } else {
            throw Errors.invalid("file.gguf_layer", "the file holds directions for layers " + cv.directions().keySet() + "; pick one");
        }
        if (layer < 1 || layer > info.getNLayers() - 1) {
            throw Errors.invalid("file.gguf_layer", "direction." + layer + " is outside [1, " + (info.getNLayers() - 1)
                    + "] (llama.cpp adds direction.N to the output of block N, N >= 1)");
        }
        String hookName = r.getHook().getName().isEmpty() ? VectorFiles.hookOfGgufLayer(layer) : r.getHook().getName();
        String hook = in.model().checkHook(HookPoint.newBuilder().setName(hookName).build(), "file.hook.name");
        float[] data = cv.directions().get(layer);
        long[] s = RecipeInputs.checkShape(List.of((long) data.length), data, info, PositionPolicy.ALL, "file.data");
        SteeringVector.Builder b = SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_IMPORTED)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(data, s))
                .setPositions(PositionPolicy.ALL)
                .setDefaultScale(1.0)
                .addSources("file:gguf control vector direction." + layer + " (" + bytes.length + " bytes)")
                .putMetadata("gguf_layer", Integer.toString(layer))
                .putMetadata("gguf_layers_in_file", cv.directions().keySet().toString());
        if (cv.modelHint() != null) b.putMetadata("model_hint", cv.modelHint());
        return b;
    }
}
