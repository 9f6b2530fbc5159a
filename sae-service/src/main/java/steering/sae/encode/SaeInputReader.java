package steering.sae.encode;

import steering.common.grpc.Errors;
import steering.common.client.ModelClient;
import steering.sae.store.SaeStore;
import steering.v1.EncodedText;
import steering.v1.SaeInput;
import steering.v1.TextInputs;

import java.util.ArrayList;
import java.util.List;

/** Turns an {@link SaeInput} into rows for the SAE: a tensor of rows, or prompts captured at the SAE's hook. */
public final class SaeInputReader {
    public static final int MAX_PROMPTS = 64;

    private final HookCapture hooks;
    private final int maxRows;

    /** @param maxRows the most rows one request may hold (tensor rows, or the prompts' tokens) */
    public SaeInputReader(HookCapture hooks, int maxRows) {
        this.hooks = hooks;
        this.maxRows = maxRows;
    }

    /** The input's rows; complaints name {@code field} ("input.activations", "input.texts.prompts", ...). */
    public InputRows read(SaeInput input, String field, SaeStore.Lease lease) {
        return switch (input.getKindCase()) {
            case ACTIVATIONS -> activations(input, field, lease.sae().dIn());
            case TEXTS -> texts(input.getTexts(), field, lease);
            default -> throw Errors.invalid(field, "set activations or texts");
        };
    }

    private InputRows activations(SaeInput input, String field, int d) {
        String where = field + ".activations";
        DenseRows x = TensorRows.read(input.getActivations(), d, "the SAE's d_in", where);
        if (x.rows() > maxRows) throw Errors.invalid(where, x.rows() + " rows is outside [1, " + maxRows + "]; use EncodeStream for more");
        TensorRows.checkFinite(x.data(), where);
        return new InputRows(x.data(), x.rows(), List.of(), List.<int[]>of(new int[]{0, x.rows()}));
    }

    private InputRows texts(TextInputs texts, String field, SaeStore.Lease lease) {
        if (texts.getPromptsCount() == 0) throw Errors.invalid(field + ".texts.prompts", "at least one prompt is required");
        if (texts.getPromptsCount() > MAX_PROMPTS) throw Errors.invalid(field + ".texts.prompts", texts.getPromptsCount() + " prompts is outside [1, " + MAX_PROMPTS + "]");
        String hook = hooks.usableHook(lease.record(), field + ".texts");
        List<ModelClient.Captured> caps = hooks.capture(texts.getPromptsList(), hook, field + ".texts.prompts");
        int d = lease.sae().dIn();
        int bos = hooks.bosTokenId();
        List<EncodedText> encoded = new ArrayList<>();
        List<int[]> groups = new ArrayList<>();
        int[] skips = new int[caps.size()];
        int total = 0;
        for (int p = 0; p < caps.size(); p++) {
            ModelClient.Captured c = caps.get(p);
            boolean dropBos = !texts.getIncludeBos() && c.tokenIds().length > 1 && c.tokenIds()[0] == bos && bos >= 0;
            int skip = skips[p] = dropBos ? 1 : 0;
            int n = c.positions().length - skip;
            EncodedText.Builder e = EncodedText.newBuilder().setFirstRow(total).setRowCount(n);
            for (int tid : c.tokenIds()) e.addTokenIds(tid);
            for (int i = skip; i < c.positions().length; i++) e.addPositions(c.positions()[i]);
            encoded.add(e.build());
            groups.add(new int[]{total, total + n});
            total += n;
        }
        if (total > maxRows) throw Errors.invalid(field + ".texts", "the prompts hold " + total + " tokens, more than " + maxRows);
        float[] all = new float[total * d]; // filled only once the limit holds: an oversized request copies nothing
        for (int p = 0; p < caps.size(); p++) {
            int from = groups.get(p)[0], n = groups.get(p)[1] - from;
            System.arraycopy(caps.get(p).rows(), skips[p] * d, all, from * d, n * d);
        }
        return new InputRows(all, total, encoded, groups);
    }
}
