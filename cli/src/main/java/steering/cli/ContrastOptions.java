package steering.cli;

import picocli.CommandLine;
import picocli.CommandLine.Option;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.Iterator;
import java.util.List;

/** A contrast vector: mean activation of positive texts minus negative texts at one hook, unit-normalized. */
class ContrastOptions {
    @Option(names = "--positive", description = "text the steering should move towards (repeatable)") List<String> positive;
    @Option(names = "--negative", description = "text the steering should move away from (repeatable)") List<String> negative;
    @Option(names = "--hook", defaultValue = "blocks.10.hook_resid_pre") String hook;
    @Option(names = "--scale", defaultValue = "8") double scale;

    boolean enabled() {
        return positive != null && !positive.isEmpty();
    }

    /** The contrast vector for a command that cannot run without one (a usage error names the missing option). */
    Intervention required(Object command, ModelServiceGrpc.ModelServiceBlockingStub stub) {
        if (!enabled()) throw new CommandLine.ParameterException(new CommandLine(command), "give --positive (and --negative) texts");
        return intervention(stub);
    }

    Intervention intervention(ModelServiceGrpc.ModelServiceBlockingStub stub) {
        float[] pos = mean(stub, positive);
        float[] neg = negative == null || negative.isEmpty() ? new float[pos.length] : mean(stub, negative);
        float[] v = new float[pos.length];
        double norm = 0;
        for (int i = 0; i < v.length; i++) {
            v[i] = pos[i] - neg[i];
            norm += v[i] * (double) v[i];
        }
        norm = Math.sqrt(norm);
        for (int i = 0; i < v.length; i++) v[i] /= (float) norm;
        return Intervention.newBuilder().setHook(HookPoint.newBuilder().setName(hook))
                .setVector(TensorCodec.ofFloats(v, v.length)).setScale(scale).setPositions(PositionPolicy.ALL).build();
    }

    private float[] mean(ModelServiceGrpc.ModelServiceBlockingStub stub, List<String> texts) {
        CaptureActivationsRequest.Builder req = CaptureActivationsRequest.newBuilder()
                .addHooks(HookPoint.newBuilder().setName(hook)).setReduction(Reduction.MEAN)
                .setSelection(PositionSelection.newBuilder().setExcludeBos(true));
        for (String t : texts) req.addInputs(Prompt.newBuilder().setText(t));
        float[] acc = null;
        Iterator<CaptureActivationsResponse> it = stub.captureActivations(req.build());
        while (it.hasNext()) {
            float[] m = TensorCodec.toFloats(it.next().getActivations());
            if (acc == null) acc = new float[m.length];
            for (int i = 0; i < m.length; i++) acc[i] += m[i] / texts.size();
        }
        return acc;
    }
}
