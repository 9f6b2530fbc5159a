package steering.sae.training;

import steering.common.grpc.Errors;
import steering.sae.corpus.TokenWindows.Window;
import steering.common.client.ModelClient;
import steering.v1.Prompt;
import steering.v1.TokenIds;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Pulls the activations of token windows at one hook from model-service, a few windows per call. */
public final class ActivationCapture {
    /** Called after every call with the windows done so far. */
    public interface Progress {
        void windowsDone(int done, int total, long tokens);
    }

    private ActivationCapture() {}

    public static ActivationSet capture(ModelClient model, List<Window> windows, String hook, int windowsPerCall,
                                        BooleanSupplier cancelled, Progress progress) {
        int d = model.info().getDModel();
        long total = 0;
        for (Window w : windows) total += w.contentTokens();
        if (total * d > Integer.MAX_VALUE - 8) {
            throw Errors.invalid("max_tokens", total + " tokens of width " + d + " do not fit in memory at once; use fewer than "
                    + ((Integer.MAX_VALUE - 8) / d));
        }
        float[] data = new float[(int) (total * d)];
        int[] rowStart = new int[windows.size() + 1];
        float[] bosRow = null;
        int row = 0;
        for (int start = 0; start < windows.size(); start += windowsPerCall) {
            if (cancelled.getAsBoolean()) throw new steering.common.ops.OperationCancelledException("capture");
            int end = Math.min(windows.size(), start + windowsPerCall);
            List<Prompt> prompts = new ArrayList<>(end - start);
            for (int w = start; w < end; w++) {
                TokenIds.Builder t = TokenIds.newBuilder();
                for (int id : windows.get(w).ids()) t.addIds(id);
                prompts.add(Prompt.newBuilder().setTokens(t).build());
            }
            // BOS is captured too (position 0) but kept apart: it is the same for every window and an outlier
            List<ModelClient.Captured> got = model.capturePerToken(prompts, hook, false);
            for (int i = 0; i < got.size(); i++) {
                Window w = windows.get(start + i);
                ModelClient.Captured c = got.get(i);
                int skip = w.hasBos() ? 1 : 0;
                if (c.positions().length != w.ids().length) {
                    throw Errors.unavailable("model-service returned " + c.positions().length + " positions for a window of " + w.ids().length);
                }
                if (skip == 1 && bosRow == null) {
                    bosRow = new float[d];
                    System.arraycopy(c.rows(), 0, bosRow, 0, d);
                }
                rowStart[start + i] = row;
                int n = w.contentTokens();
                System.arraycopy(c.rows(), skip * d, data, row * d, n * d);
                row += n;
            }
            if (progress != null) progress.windowsDone(end, windows.size(), row);
        }
        rowStart[windows.size()] = row;
        return new ActivationSet(windows, data, row, d, rowStart, bosRow);
    }
}
