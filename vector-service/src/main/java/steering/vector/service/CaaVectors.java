package steering.vector.service;

import steering.common.grpc.Errors;
import steering.common.tensor.TensorCodec;
import steering.v1.*;
import steering.common.client.ModelClient;
import steering.vector.methods.Caa;

import java.util.ArrayList;
import java.util.List;

/** CAA (Rimsky et al. 2023): mean difference at the answer letter of A/B questions, FROM_INDEX. */
record CaaVectors(RecipeInputs in) {
    SteeringVector.Builder build(CaaRecipe r, ModelInfo info) {
        String hook = in.model().checkHook(r.getHook(), "caa.hook.name");
        List<AbItem> items = new ArrayList<>(r.getItemsList());
        List<String> sources = new ArrayList<>();
        if (r.getMaxItems() < 0) throw Errors.invalid("caa.max_items", r.getMaxItems() + " is outside [0, " + Datasets.MAX_ITEMS + "] (0 = all)");
        if (!r.getDataset().isEmpty()) {
            List<AbItem> fromFile = in.datasets().abItems(r.getDataset(), r.getMaxItems(), "caa.dataset");
            items.addAll(fromFile);
            sources.add("dataset:" + r.getDataset() + "[:" + fromFile.size() + "] sha256=" + in.datasets().sha256(r.getDataset()));
        }
        if (r.getItemsCount() > 0) sources.add("items:" + r.getItemsCount() + " inline");
        if (items.isEmpty()) throw Errors.invalid("caa.items", "at least one A/B item is required (items or dataset)");
        if (items.size() > Datasets.MAX_ITEMS) throw Errors.invalid("caa.items", items.size() + " items is outside [1, " + Datasets.MAX_ITEMS + "]");
        String template = r.getPromptTemplate().isEmpty() ? Caa.BASE_TEMPLATE : r.getPromptTemplate();
        if (!template.contains("{question}") || !template.contains("{answer}")) {
            throw Errors.invalid("caa.prompt_template", "must contain {question} and {answer}, e.g. " + Caa.BASE_TEMPLATE.replace("\n", "\\n"));
        }
        String marker = !r.getInstructionEndMarker().isEmpty() ? r.getInstructionEndMarker()
                : template.equals(Caa.CHAT_TEMPLATE) ? Caa.CHAT_MARKER : Caa.BASE_MARKER;
        int readPosition = r.hasReadPosition() ? r.getReadPosition() : -2;
        boolean bos = !r.hasAddBos() || r.getAddBos();
        double multiplier = r.hasMultiplier() ? r.getMultiplier() : 1.0;
        RecipeInputs.checkFinite(multiplier, "caa.multiplier", 1e6);
        java.util.function.IntFunction<String> item = i -> i < r.getItemsCount() ? "caa.items[" + i + "]"
                : "caa.dataset item " + (i - r.getItemsCount());
        List<Prompt> pos = new ArrayList<>(), neg = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            AbItem it = items.get(i);
            String f = item.apply(i);
            if (it.getQuestion().isBlank()) throw Errors.invalid(f + ".question", "is empty");
            if (it.getAnswerMatchingBehavior().isBlank()) throw Errors.invalid(f + ".answer_matching_behavior", "is empty");
            if (it.getAnswerNotMatchingBehavior().isBlank()) throw Errors.invalid(f + ".answer_not_matching_behavior", "is empty");
            pos.add(Prompt.newBuilder().setText(Caa.fill(template, it.getQuestion(), it.getAnswerMatchingBehavior())).setAddBos(bos).build());
            neg.add(Prompt.newBuilder().setText(Caa.fill(template, it.getQuestion(), it.getAnswerNotMatchingBehavior())).setAddBos(bos).build());
        }
        PositionSelection at = PositionSelection.newBuilder().addPositions(readPosition).build();
        List<ModelClient.Captured> cp, cn;
        try {
            cp = in.model().capture(pos, hook, Reduction.PER_TOKEN, at, item);
            cn = in.model().capture(neg, hook, Reduction.PER_TOKEN, at, item);
        } catch (io.grpc.StatusRuntimeException e) {
            if (e.getStatus().getCode() != io.grpc.Status.Code.INVALID_ARGUMENT) throw e;
            String d = e.getStatus().getDescription(), hint = "drop long items or lower max_items (inline items come first, then the dataset's)";
            // named as the caller's item already (ModelClient.capture), or something about the request as a whole
            if (d.startsWith("caa.")) throw io.grpc.Status.INVALID_ARGUMENT.withDescription(d + "; " + hint).asRuntimeException();
            throw Errors.invalid("caa.items", "an item does not fit the model (" + d + "); " + hint);
        }
        List<float[]> a = new ArrayList<>(), b = new ArrayList<>();
        int distinct = 0;
        for (int i = 0; i < items.size(); i++) {
            a.add(cp.get(i).rows());
            b.add(cn.get(i).rows());
            int tp = cp.get(i).tokenIds()[cp.get(i).positions()[0]], tn = cn.get(i).tokenIds()[cn.get(i).positions()[0]];
            if (tp != tn) distinct++;
        }
        float[] vec = Caa.meanDifference(a, b);
        return SteeringVector.newBuilder().setMethod(VectorMethod.VECTOR_METHOD_CAA)
                .setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(vec, info.getDModel()))
                .setPositions(PositionPolicy.FROM_INDEX)
                .setPositionMarker(marker)
                .setDefaultScale(multiplier)
                .addAllSources(sources)
                .putMetadata("items", Integer.toString(items.size()))
                .putMetadata("read_position", Integer.toString(readPosition))
                .putMetadata("prompt_template", template)
                .putMetadata("items_with_different_read_tokens", Integer.toString(distinct));
    }
}
