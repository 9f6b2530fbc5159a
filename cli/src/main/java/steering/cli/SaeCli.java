package steering.cli;

import steering.common.client.SaeClient;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import steering.v1.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * sae-service's training tool, {@code steer sae COMMAND [options]} (also runnable as this main class; options are
 * parsed here rather than by picocli so that scripts/sae/train-sae.sh can pass them through unchanged):
 * <pre>
 *   train    --hook blocks.15.hook_resid_post --dataset tinystories-1000 [--dataset ...] [--max-docs N] [--id ID]
 *            [--d-sae N | --expansion N] [--k N] [--max-tokens N] [--epochs N] [--steps N] [--batch-size N]
 *            [--context-size N] [--lr X] [--spliced-windows N] [--top-contexts N] [--seed N] [--overwrite]
 *            [--report FILE.json] [--show-features N]
 *   evaluate --id ID --dataset NAME [--dataset ...] [--max-docs N] [--max-tokens N] [--spliced-windows N]
 *            [--positions N] [--seed N] [--report FILE.json]
 *   list
 *   stats    --id ID --features 1,2,3 [--contexts N]
 *   search   --id ID --text "..." [--top N]
 * </pre>
 * Common option: {@code --sae-service host:port} (default 127.0.0.1:50052). {@code train} waits for the service to
 * answer, starts TrainSae, prints its progress, and prints (and with --report writes) the final figures and the
 * top contexts of a few features.
 */
public final class SaeCli {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, List<String>> opts = new LinkedHashMap<>();

    private SaeCli(String[] args, int from) {
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument " + a);
            String key = a.substring(2);
            String value = i + 1 < args.length && !args[i + 1].startsWith("--") ? args[++i] : "true";
            opts.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
        }
    }

    private String opt(String key, String dflt) {
        List<String> v = opts.get(key);
        return v == null ? dflt : v.get(v.size() - 1);
    }

    private int intOpt(String key, int dflt) {
        return Integer.parseInt(opt(key, Integer.toString(dflt)));
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    /** Runs one command ({@code args[0]}) with its options; the exit code. Also reached as {@code steer sae ...}. */
    static int run(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("--help")) {
            System.err.println("usage: steer sae train|evaluate|list|stats|search [options]  (see the class comment or docs/sae-service.md)");
            return 2;
        }
        SaeCli cli = new SaeCli(args, 1);
        String address = cli.opt("sae-service", "127.0.0.1:50052");
        SaeClient client = new SaeClient(address, steering.common.grpc.ChannelFactory.fromEnv(), 600); // STEERING_TLS_* for TLS
        try {
            SaeServiceGrpc.SaeServiceBlockingStub sae = client.blocking();
            return switch (args[0]) {
                case "train" -> cli.train(sae);
                case "evaluate" -> cli.evaluate(sae);
                case "list" -> {
                    for (SaeInfo i : sae.withDeadlineAfter(60, TimeUnit.SECONDS).listSaes(ListSaesRequest.getDefaultInstance()).getSaesList()) {
                        System.out.println(i.getId() + "  " + i.getModelId() + "  " + i.getHook().getName() + "  " + i.getArchitecture()
                                + "  d_sae=" + i.getDSae() + (i.hasTrainingMetrics() ? "  fve=" + i.getTrainingMetrics().getVarianceExplained() : ""));
                    }
                    yield 0;
                }
                case "stats" -> cli.stats(sae);
                case "search" -> cli.search(sae);
                default -> {
                    System.err.println("unknown command " + args[0]);
                    yield 2;
                }
            };
        } catch (StatusRuntimeException e) {
            System.err.println("error: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
            return 1;
        } finally {
            client.close();
        }
    }

    private int train(SaeServiceGrpc.SaeServiceBlockingStub sae) throws Exception {
        TrainSaeRequest.Builder b = TrainSaeRequest.newBuilder()
                .setHook(HookPoint.newBuilder().setName(opt("hook", "")))
                .setSaeId(opt("id", ""))
                .setDSae(intOpt("d-sae", 0)).setExpansionFactor(intOpt("expansion", 0)).setK(intOpt("k", 0))
                .setMaxTokens(Long.parseLong(opt("max-tokens", "0"))).setEpochs(intOpt("epochs", 0))
                .setSteps(Long.parseLong(opt("steps", "0"))).setBatchSize(intOpt("batch-size", 0))
                .setContextSize(intOpt("context-size", 0)).setTopContexts(intOpt("top-contexts", 0))
                .setOverwrite(Boolean.parseBoolean(opt("overwrite", "false")));
        if (opts.containsKey("lr")) b.setLearningRate(Double.parseDouble(opt("lr", "0")));
        shared(b::setSplicedLossWindows, b::setSeed, b::addCorpus);

        Operation last = follow(sae, () -> sae.withDeadlineAfter(120, TimeUnit.SECONDS).startTrainSae(b.build()));
        if (failed(last, "training")) return 1;
        TrainSaeResult result = last.getResult().unpack(TrainSaeResult.class);
        ObjectNode report = JSON.createObjectNode();
        report.set("sae", JSON.readTree(JsonFormat.printer().preservingProtoFieldNames().print(result.getSae())));
        report.set("metrics", JSON.readTree(JsonFormat.printer().preservingProtoFieldNames().includingDefaultValueFields().print(result.getMetrics())));
        int show = intOpt("show-features", 4);
        if (show > 0) report.set("features", topFeatures(sae, result.getSae().getId(), show));
        String text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report);
        return report(text);
    }

    private int evaluate(SaeServiceGrpc.SaeServiceBlockingStub sae) throws Exception {
        EvaluateSaeRequest.Builder b = EvaluateSaeRequest.newBuilder().setSaeId(opt("id", ""))
                .setMaxTokens(Long.parseLong(opt("max-tokens", "0"))).setPositionsPerWindow(intOpt("positions", 0))
                .setContextSize(intOpt("context-size", 0));
        shared(b::setSplicedLossWindows, b::setSeed, b::addCorpus);
        Operation last = follow(sae, () -> sae.withDeadlineAfter(120, TimeUnit.SECONDS).startEvaluateSae(b.build()));
        if (failed(last, "evaluation")) return 1;
        SaeTrainingMetrics m = last.getResult().unpack(SaeTrainingMetrics.class);
        String text = JsonFormat.printer().preservingProtoFieldNames().includingDefaultValueFields().print(m);
        return report(text);
    }

    private static boolean failed(Operation last, String what) {
        if (last.getState() == OperationState.OPERATION_STATE_SUCCEEDED) return false;
        System.err.println(what + " ended " + last.getState() + ": " + last.getError().getMessage());
        return true;
    }

    /** The options train and evaluate share: --spliced-windows and --seed when given, and the corpus. */
    private void shared(java.util.function.IntConsumer splicedWindows, java.util.function.LongConsumer seed,
                        java.util.function.Consumer<CorpusSource> corpus) {
        if (opts.containsKey("spliced-windows")) splicedWindows.accept(intOpt("spliced-windows", 0));
        if (opts.containsKey("seed")) seed.accept(Long.parseLong(opt("seed", "0")));
        corpus().forEach(corpus);
    }

    /** The --dataset and --file options as corpus sources, each capped at --max-docs documents. */
    private List<CorpusSource> corpus() {
        int maxDocs = intOpt("max-docs", 0);
        List<CorpusSource> out = new ArrayList<>();
        for (String d : opts.getOrDefault("dataset", List.of())) out.add(CorpusSource.newBuilder().setDataset(d).setMaxDocuments(maxDocs).build());
        for (String p : opts.getOrDefault("file", List.of())) out.add(CorpusSource.newBuilder().setPath(Path.of(p).toAbsolutePath().toString()).setMaxDocuments(maxDocs).build());
        return out;
    }

    /** Prints the final figures and, with --report, writes them to that file too. */
    private int report(String text) throws java.io.IOException {
        System.out.println(text);
        String file = opt("report", null);
        if (file != null) steering.common.io.AtomicFiles.writeString(Path.of(file), text + "\n");
        return 0;
    }

    /** Starts an operation (retrying while the services start), prints its progress and returns its final state. */
    private Operation follow(SaeServiceGrpc.SaeServiceBlockingStub sae, java.util.function.Supplier<Operation> start) throws Exception {
        Operation op = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(intOpt("wait-seconds", 180));
        while (op == null) {
            try {
                op = start.get();
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) throw e;
                Thread.sleep(2000); // sae-service or model-service still starting
            }
        }
        System.err.println("operation " + op.getId() + " started");
        Iterator<Operation> it = sae.watchOperation(WatchOperationRequest.newBuilder().setId(op.getId()).build());
        Operation last = op;
        String lastStage = "";
        long lastPrint = 0;
        while (it.hasNext()) {
            last = it.next();
            String stage = last.getMessage().replaceAll("[: ]*\\d+/\\d+.*$", "");
            long now = System.nanoTime();
            if (!stage.equals(lastStage) || now - lastPrint > 15_000_000_000L) {
                System.err.printf("%5.1f%%  %s  %s%n", 100 * last.getProgress(), last.getMessage(), brief(last.getMetricsMap()));
                lastStage = stage;
                lastPrint = now;
            }
        }
        return last;
    }

    /** A few features of mid density with their top contexts (the densest ones are often position/BOS-like). */
    private ArrayNode topFeatures(SaeServiceGrpc.SaeServiceBlockingStub sae, String id, int n) {
        FeatureStatsResponse all = sae.withDeadlineAfter(120, TimeUnit.SECONDS).featureStats(FeatureStatsRequest.newBuilder().setSaeId(id).build());
        float[] density = steering.common.tensor.TensorCodec.toFloats(all.getDensity());
        List<Integer> candidates = new ArrayList<>();
        for (int j = 0; j < density.length; j++) if (density[j] > 0.0005 && density[j] < 0.02) candidates.add(j);
        java.util.Collections.shuffle(candidates, new java.util.Random(42));
        FeatureStatsRequest.Builder req = FeatureStatsRequest.newBuilder().setSaeId(id).setTopContexts(6);
        candidates.stream().limit(n).sorted().forEach(req::addFeatures);
        ArrayNode out = JSON.createArrayNode();
        if (req.getFeaturesCount() == 0) return out;
        for (FeatureStat s : sae.withDeadlineAfter(120, TimeUnit.SECONDS).featureStats(req.build()).getFeaturesList()) {
            ObjectNode f = out.addObject();
            f.put("feature", s.getFeature());
            f.put("density", s.getDensity());
            f.put("max_activation", s.getMaxActivation());
            ArrayNode ctx = f.putArray("top_contexts");
            for (TopContext c : s.getTopContextsList()) ctx.add(String.format("%.2f  %s", c.getActivation(), c.getText()));
        }
        return out;
    }

    private static String brief(Map<String, Double> m) {
        StringBuilder sb = new StringBuilder();
        for (String k : List.of("fvu", "l0", "dead_fraction", "train_tokens_per_second", "captured_tokens", "variance_explained", "loss_increase")) {
            if (m.containsKey(k)) sb.append(k).append('=').append(String.format("%.4g", m.get(k))).append(' ');
        }
        return sb.toString().trim();
    }

    private int stats(SaeServiceGrpc.SaeServiceBlockingStub sae) {
        FeatureStatsRequest.Builder req = FeatureStatsRequest.newBuilder().setSaeId(opt("id", "")).setTopContexts(intOpt("contexts", 5));
        for (String f : opt("features", "").split(",")) if (!f.isBlank()) req.addFeatures(Integer.parseInt(f.trim()));
        FeatureStatsResponse r = sae.withDeadlineAfter(60, TimeUnit.SECONDS).featureStats(req.build());
        for (FeatureStat s : r.getFeaturesList()) {
            System.out.printf("feature %d  density %.5f  max %.3f%n", s.getFeature(), s.getDensity(), s.getMaxActivation());
            for (TopContext c : s.getTopContextsList()) System.out.printf("  %7.3f  %s%n", c.getActivation(), c.getText());
        }
        return 0;
    }

    private int search(SaeServiceGrpc.SaeServiceBlockingStub sae) {
        SearchFeaturesResponse r = sae.withDeadlineAfter(60, TimeUnit.SECONDS).searchFeatures(SearchFeaturesRequest.newBuilder()
                .setSaeId(opt("id", "")).setPrompt(Prompt.newBuilder().setText(opt("text", ""))).setTopK(intOpt("top", 10)).build());
        for (SearchFeatureHit h : r.getHitsList()) {
            System.out.printf("feature %d  mean %.3f  strongest at '%s'  density %.5f%n", h.getFeature(), h.getActivation(),
                    h.getMaxToken(), h.getStat().getDensity());
            for (TopContext c : h.getStat().getTopContextsList()) System.out.printf("    %7.3f  %s%n", c.getActivation(), c.getText());
        }
        return 0;
    }
}
