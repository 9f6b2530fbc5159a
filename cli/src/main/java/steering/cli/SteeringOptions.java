package steering.cli;

import picocli.CommandLine;
import picocli.CommandLine.Option;
import steering.common.tensor.TensorCodec;
import steering.v1.*;

import java.util.List;

/**
 * The one intervention a generate / compare / evaluate command steers with: a contrast vector applied with a kind
 * (KindOptions), or an SAE feature named by --sae and --feature (resolved by the gateway through vector-service and
 * sae-service); optionally conditional (CAST): applied only when the prompt's mean residual at --condition-hook has
 * a cosine above (or, with --condition-less, below) --condition-threshold with the contrast of --condition-positive
 * and --condition-negative texts.
 */
class SteeringOptions {
    @CommandLine.Mixin ContrastOptions contrast = new ContrastOptions();
    @CommandLine.Mixin KindOptions kind = new KindOptions();
    @Option(names = "--sae", description = "sae-feature: the SAE (its hook is where the feature applies)") String sae;
    @Option(names = "--feature", description = "sae-feature: the feature index") Integer feature;
    @Option(names = "--condition-hook", description = "steer only prompts that meet a condition read at this hook") String conditionHook;
    @Option(names = "--condition-positive", description = "condition direction: texts on the topic (repeatable)") List<String> conditionPositive;
    @Option(names = "--condition-negative", description = "condition direction: texts off the topic (repeatable)") List<String> conditionNegative;
    @Option(names = "--condition-threshold", defaultValue = "0", description = "cosine threshold in [-1, 1] (default 0)") double conditionThreshold;
    @Option(names = "--condition-less", description = "the condition holds below the threshold, not above") boolean conditionLess;

    boolean enabled() {
        return contrast.enabled() || feature != null;
    }

    /** SAE features are named, not computed: only the gateway resolves them. */
    boolean needsGateway() {
        return kind.kind() == InterventionKind.SAE_FEATURE;
    }

    /** The scale that --scales sweeps: ADD's scale or the kind's value. */
    String magnitudeName() {
        return kind.valueKind() ? "value" : "scale";
    }

    Intervention intervention(ModelServiceGrpc.ModelServiceBlockingStub stub) {
        Intervention iv;
        if (needsGateway()) {
            if (sae == null || feature == null) throw new IllegalArgumentException("--kind sae-feature needs --sae and --feature");
            iv = kind.apply(Intervention.newBuilder()
                    .setSaeFeature(SaeFeature.newBuilder().setSaeId(sae).setFeature(feature)).build());
        } else {
            if (!contrast.enabled()) throw new IllegalArgumentException("give --positive (and --negative) texts");
            iv = kind.apply(contrast.intervention(stub));
        }
        if (conditionHook == null) return iv;
        if (conditionPositive == null || conditionPositive.isEmpty()) {
            throw new IllegalArgumentException("--condition-hook needs --condition-positive texts (and --condition-negative)");
        }
        float[] d = ContrastOptions.direction(stub, conditionHook, conditionPositive, conditionNegative);
        return iv.toBuilder().setCondition(Condition.newBuilder().setHook(HookPoint.newBuilder().setName(conditionHook))
                .setDirection(TensorCodec.ofFloats(d, d.length)).setThreshold(conditionThreshold)
                .setComparison(conditionLess ? Comparison.LESS : Comparison.GREATER)).build();
    }
}
