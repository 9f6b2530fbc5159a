package steering.cli;

import io.grpc.ManagedChannel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import steering.v1.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * steer build METHOD: one steering vector through the gateway's BuildVector pass-through (vector-service does the
 * work and stores it unless --no-save). One subcommand per method, each with that recipe's fields as options.
 */
@Command(name = "build", description = "Build a steering vector (stored in vector-service's registry).",
        subcommands = {Build.ActAdd.class, Build.Caa.class, Build.CaaMean.class, Build.SaeDecoder.class, Build.SaeTs.class, Build.Fgaa.class})
class Build {

    /** Options every method shares; each subcommand fills in its recipe. */
    abstract static class Method implements Callable<Integer> {
        @CommandLine.Mixin Target target = new Target();
        @CommandLine.Mixin GatewayTarget gateway = new GatewayTarget();
        @Option(names = "--id", description = "vector id (default: <method>-<time>-<random>)") String id = "";
        @Option(names = "--overwrite", description = "replace a stored vector with the same id") boolean overwrite;
        @Option(names = "--no-save", description = "only return the vector, do not store it") boolean noSave;
        @Option(names = "--description") String description = "";
        @CommandLine.Mixin KindOptions kind = new KindOptions();

        abstract void recipe(BuildVectorRequest.Builder request);

        @Override
        public Integer call() {
            BuildVectorRequest.Builder request = BuildVectorRequest.newBuilder().setVectorId(id).setOverwrite(overwrite)
                    .setSave(!noSave).setDescription(description);
            recipe(request);
            kind.apply(request);
            ManagedChannel ch = gateway.channel();
            try {
                SteeringVector v = gateway.stub(ch, target.deadlineSeconds).buildVector(request.build()).getVector();
                print(v);
                return 0;
            } finally {
                ch.shutdownNow();
            }
        }
    }

    static void print(SteeringVector v) {
        System.out.printf("%s  %s at %s, norm %.4g, %s, positions %s, default scale %.4g%s%n", v.getId(),
                v.getMethod().name().replace("VECTOR_METHOD_", "").toLowerCase(), v.getHook().getName(), v.getNorm(),
                v.getKind() + (v.hasValue() ? " to " + v.getValue() : ""), v.getPositions().name(), v.getDefaultScale(),
                v.getSaeId().isEmpty() ? "" : ", SAE " + v.getSaeId());
        if (v.getFeaturesCount() > 0) {
            StringBuilder f = new StringBuilder("  features:");
            for (WeightedFeature w : v.getFeaturesList()) f.append(String.format(" %d(%.3g)", w.getFeature(), w.getWeight()));
            System.out.println(f);
        }
        v.getMetadataMap().forEach((k, val) -> System.out.println("  " + k + ": " + val));
    }

    /** "123" or "123:0.5" -> a weighted feature (weight 1 by default). */
    static List<WeightedFeature> features(List<String> specs) {
        List<WeightedFeature> out = new ArrayList<>();
        for (String s : specs) {
            String[] parts = s.split(":", 2);
            try {
                out.add(WeightedFeature.newBuilder().setFeature(Integer.parseInt(parts[0].trim()))
                        .setWeight(parts.length == 2 ? Double.parseDouble(parts[1]) : 1.0).build());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("feature '" + s + "' is not FEATURE or FEATURE:WEIGHT");
            }
        }
        return out;
    }

    static HookPoint hook(String name) {
        return HookPoint.newBuilder().setName(name).build();
    }

    @Command(name = "actadd", description = "ActAdd (Turner et al. 2023): activation difference of a prompt pair, added at the prompt's front.")
    static class ActAdd extends Method {
        @Option(names = "--positive", required = true, description = "e.g. \"Love\"") String positive;
        @Option(names = "--negative", required = true, description = "e.g. \"Hate\"") String negative;
        @Option(names = "--hook", defaultValue = "blocks.6.hook_resid_pre") String hook;
        @Option(names = "--coefficient", description = "the vector's default scale (ActAdd's c)") Double coefficient;

        void recipe(BuildVectorRequest.Builder r) {
            ActAddRecipe.Builder b = ActAddRecipe.newBuilder().setHook(hook(hook)).setPositive(positive).setNegative(negative);
            if (coefficient != null) b.setCoefficient(coefficient);
            r.setActadd(b);
        }
    }

    @Command(name = "caa", description = "CAA (Rimsky et al. 2023) on an A/B dataset of vector-service's dataset directory.")
    static class Caa extends Method {
        @Option(names = "--dataset", required = true, description = "e.g. anthropic-evals-advanced-ai-risk/human_generated_evals/survival-instinct.jsonl") String dataset;
        @Option(names = "--hook", defaultValue = "blocks.12.hook_resid_post") String hook;
        @Option(names = "--max-items", defaultValue = "0", description = "0 = all") int maxItems;
        @Option(names = "--multiplier", description = "the vector's default scale") Double multiplier;

        void recipe(BuildVectorRequest.Builder r) {
            CaaRecipe.Builder b = CaaRecipe.newBuilder().setHook(hook(hook)).setDataset(dataset).setMaxItems(maxItems);
            if (multiplier != null) b.setMultiplier(multiplier);
            r.setCaa(b);
        }
    }

    @Command(name = "caa-mean", description = "The SAE-TS/FGAA papers' CAA: token-mean of positive minus negative sentences, unit norm.")
    static class CaaMean extends Method {
        @Option(names = "--positive", required = true, description = "repeatable") List<String> positive;
        @Option(names = "--negative", required = true, description = "repeatable") List<String> negative;
        @Option(names = "--hook", required = true, description = "e.g. blocks.15.hook_resid_post") String hook;

        void recipe(BuildVectorRequest.Builder r) {
            r.setCaaMean(CaaMeanRecipe.newBuilder().setHook(hook(hook)).addAllPositive(positive).addAllNegative(negative));
        }
    }

    @Command(name = "sae-decoder", description = "SAE decoder steering: unit-norm weighted sum of decoder rows.")
    static class SaeDecoder extends Method {
        @Option(names = "--sae", required = true) String sae;
        @Option(names = "--feature", required = true, description = "FEATURE or FEATURE:WEIGHT, repeatable") List<String> features;

        void recipe(BuildVectorRequest.Builder r) {
            r.setSaeDecoder(SaeDecoderRecipe.newBuilder().setSaeId(sae).addAllFeatures(features(features)));
        }
    }

    @Command(name = "sae-ts", description = "SAE-TS (Chalnev et al. 2024): the direction whose predicted effect hits the target features.")
    static class SaeTs extends Method {
        @Option(names = "--approximator", required = true) String approximator;
        @Option(names = "--target", required = true, description = "FEATURE or FEATURE:WEIGHT, repeatable") List<String> targets;
        @Option(names = "--bias-scale") Double biasScale;

        void recipe(BuildVectorRequest.Builder r) {
            SaeTsRecipe.Builder b = SaeTsRecipe.newBuilder().setApproximatorId(approximator).addAllTargets(features(targets));
            if (biasScale != null) b.setBiasScale(biasScale);
            r.setSaeTs(b);
        }
    }

    @Command(name = "fgaa", description = "FGAA (Soo et al. 2025): SAE-space contrast of examples, filtered, then SAE-TS's optimisation.")
    static class Fgaa extends Method {
        @Option(names = "--approximator", required = true) String approximator;
        @Option(names = "--positive", required = true, description = "repeatable") List<String> positive;
        @Option(names = "--negative", required = true, description = "repeatable") List<String> negative;
        @Option(names = "--max-density", description = "drop features denser than this (default 0.01)") Double maxDensity;
        @Option(names = "--n-pos", description = "positive features kept (default 10)") Integer nPos;
        @Option(names = "--n-neg", description = "negative features kept (default 0)") Integer nNeg;
        @Option(names = "--exclude", split = ",", description = "features to drop") List<Integer> exclude = List.of();

        void recipe(BuildVectorRequest.Builder r) {
            FgaaRecipe.Builder b = FgaaRecipe.newBuilder().setApproximatorId(approximator).addAllPositive(positive)
                    .addAllNegative(negative).addAllExcludeFeatures(exclude);
            if (maxDensity != null) b.setMaxDensity(maxDensity);
            if (nPos != null) b.setNPos(nPos);
            if (nNeg != null) b.setNNeg(nNeg);
            r.setFgaa(b);
        }
    }
}
