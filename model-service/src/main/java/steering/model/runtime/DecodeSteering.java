package steering.model.runtime;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The packed [B, d] additions of a decode batch, kept from step to step. A running sequence brings the same
 * interventions at every step and, past its prompt, each of them adds the same row at every position, so the packed
 * tensors only change when a sequence joins or leaves the batch (or a FROM_INDEX / PROMPT_FRONT policy switches on
 * or off): then they are packed again, once, instead of at every step.
 */
final class DecodeSteering implements AutoCloseable {
    private final NDManager manager;
    private final int d;
    private List<List<Intervention>> batch = List.of();
    private int[] rows = new int[0];
    private Map<Integer, NDArray> packed = Map.of();

    DecodeSteering(NDManager manager, int d) {
        this.manager = manager;
        this.d = d;
    }

    /** The additions of a step whose every sequence decodes one token (row b = step b). */
    synchronized Map<Integer, NDArray> additions(List<ForwardStep> steps) {
        List<List<Intervention>> nowBatch = new ArrayList<>(steps.size());
        int count = 0;
        for (ForwardStep s : steps) {
            nowBatch.add(s.interventions());
            count += s.interventions().size();
        }
        int[] nowRows = new int[count];
        int i = 0;
        for (ForwardStep s : steps) {
            for (Intervention iv : s.interventions()) nowRows[i++] = iv.rowFor(s.startPosition());
        }
        if (!sameLists(nowBatch) || !Arrays.equals(rows, nowRows)) {
            close();
            packed = Steering.additions(steps, steps.size(), d, manager);
            for (NDArray a : packed.values()) NDScope.unregister(a); // outlives the step that made it
            batch = nowBatch;
            rows = nowRows;
        }
        return packed;
    }

    /** Same interventions lists (by identity: a running request keeps its list) in the same slots. */
    private boolean sameLists(List<List<Intervention>> now) {
        if (now.size() != batch.size()) return false;
        for (int b = 0; b < now.size(); b++) {
            if (now.get(b) != batch.get(b)) return false;
        }
        return true;
    }

    @Override
    public synchronized void close() {
        for (NDArray a : packed.values()) a.close();
        packed = Map.of();
        batch = List.of();
        rows = new int[0];
    }
}
