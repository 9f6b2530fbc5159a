package steering.sae.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import steering.common.grpc.Errors;
import steering.common.client.ModelClient;
import steering.v1.CorpusSource;
import steering.v1.GeneratedText;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Turns {@link CorpusSource}s into documents: named datasets (a folder of the corpus directory holding a .jsonl of
 * {"text": ...} lines or a .json list of strings), files on the server (.jsonl, .json, or .txt with documents
 * separated by blank lines), inline texts, and text the model generates itself.
 */
public final class CorpusReader {
    /** corpus sources a request may list */
    public static final int MAX_SOURCES = 64;
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int MAX_GENERATED = 10_000;

    /** A document and a short name of where it came from. */
    public record Document(String text, String source) {}

    private final Path corpusDir;
    private final ReadableRoots roots;

    public CorpusReader(Path corpusDir, ReadableRoots roots) {
        this.corpusDir = corpusDir.toAbsolutePath().normalize();
        this.roots = roots;
    }

    /** The dataset names available (sub-folders of the corpus directory with a .jsonl or .json file). */
    public List<String> datasets() {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(corpusDir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(corpusDir)) {
            for (Path d : ds) if (Files.isDirectory(d) && textFile(d) != null) out.add(d.getFileName().toString());
        } catch (IOException e) {
            return out;
        }
        out.sort(String::compareTo);
        return out;
    }

    /** Validates the sources without reading them (INVALID_ARGUMENT naming the field). */
    public void validate(List<CorpusSource> sources, String field) {
        if (sources.isEmpty()) throw Errors.invalid(field, "at least one corpus source is required (dataset, path, texts or generated)");
        if (sources.size() > MAX_SOURCES) throw Errors.invalid(field, sources.size() + " corpus sources is outside [1, " + MAX_SOURCES + "]");
        for (int i = 0; i < sources.size(); i++) {
            CorpusSource s = sources.get(i);
            String f = field + "[" + i + "]";
            if (s.getMaxDocuments() < 0) throw Errors.invalid(f + ".max_documents", s.getMaxDocuments() + " must be >= 0 (0 = all)");
            switch (s.getKindCase()) {
                case DATASET -> datasetFile(s.getDataset(), f + ".dataset");
                case PATH -> checkPath(s.getPath(), f + ".path");
                case TEXTS -> {
                    if (s.getTexts().getTextsCount() == 0) throw Errors.invalid(f + ".texts", "no texts given");
                }
                case GENERATED -> checkGenerated(s.getGenerated(), f + ".generated");
                case KIND_NOT_SET -> throw Errors.invalid(f, "set one of dataset, path, texts or generated");
            }
        }
    }

    private static void checkGenerated(GeneratedText g, String f) {
        if (g.getPromptsCount() == 0) throw Errors.invalid(f + ".prompts", "at least one prompt is required");
        if (g.getSamplesPerPrompt() < 0 || g.getSamplesPerPrompt() > 1000) {
            throw Errors.invalid(f + ".samples_per_prompt", g.getSamplesPerPrompt() + " is outside [0, 1000]");
        }
        if ((long) g.getPromptsCount() * Math.max(1, g.getSamplesPerPrompt()) > MAX_GENERATED) {
            throw Errors.invalid(f, "asks for more than " + MAX_GENERATED + " generated documents");
        }
        if (g.getMaxTokens() < 0 || g.getMaxTokens() > 2048) throw Errors.invalid(f + ".max_tokens", g.getMaxTokens() + " is outside [0, 2048]");
        if (g.hasTemperature() && (!Float.isFinite(g.getTemperature()) || g.getTemperature() < 0 || g.getTemperature() > 10)) {
            throw Errors.invalid(f + ".temperature", g.getTemperature() + " is outside [0, 10]");
        }
    }

    /**
     * Reads all documents, interleaving the sources (one document of each in turn), so that a token budget applied
     * later takes a mix of every source rather than the first one only.
     */
    public List<Document> read(List<CorpusSource> sources, ModelClient model, BooleanSupplier cancelled) throws IOException {
        validate(sources, "corpus");
        List<List<Document>> perSource = new ArrayList<>();
        for (int i = 0; i < sources.size(); i++) {
            CorpusSource s = sources.get(i);
            int max = s.getMaxDocuments() == 0 ? Integer.MAX_VALUE : s.getMaxDocuments();
            List<String> texts = switch (s.getKindCase()) {
                case DATASET -> readFile(datasetFile(s.getDataset(), "corpus[" + i + "].dataset"), max);
                case PATH -> readFile(checkPath(s.getPath(), "corpus[" + i + "].path"), max);
                case TEXTS -> s.getTexts().getTextsList().subList(0, Math.min(max, s.getTexts().getTextsCount()));
                case GENERATED -> generate(s.getGenerated(), model, max, cancelled);
                case KIND_NOT_SET -> List.of();
            };
            String name = describe(s);
            List<Document> docs = new ArrayList<>();
            for (String t : texts) if (!t.isBlank()) docs.add(new Document(t, name));
            perSource.add(docs);
        }
        List<Document> out = new ArrayList<>();
        for (int i = 0; ; i++) {
            boolean any = false;
            for (List<Document> docs : perSource) {
                if (i < docs.size()) {
                    out.add(docs.get(i));
                    any = true;
                }
            }
            if (!any) break;
        }
        if (out.isEmpty()) throw Errors.invalid("corpus", "the sources hold no non-empty document");
        return out;
    }

    public static String describe(CorpusSource s) {
        String base = switch (s.getKindCase()) {
            case DATASET -> "dataset:" + s.getDataset();
            case PATH -> "file:" + Path.of(s.getPath()).getFileName();
            case TEXTS -> "texts:" + s.getTexts().getTextsCount();
            case GENERATED -> "generated:" + s.getGenerated().getPromptsCount() + "x" + Math.max(1, s.getGenerated().getSamplesPerPrompt());
            case KIND_NOT_SET -> "none";
        };
        return s.getMaxDocuments() > 0 ? base + "[:" + s.getMaxDocuments() + "]" : base;
    }

    private List<String> generate(GeneratedText g, ModelClient model, int max, BooleanSupplier cancelled) {
        int samples = Math.max(1, g.getSamplesPerPrompt());
        int maxTokens = g.getMaxTokens() == 0 ? 64 : g.getMaxTokens();
        float temperature = g.hasTemperature() ? g.getTemperature() : 1.0f;
        long seed = g.hasSeed() ? g.getSeed() : 0x5AE5EEDL;
        List<String> out = new ArrayList<>();
        for (int p = 0; p < g.getPromptsCount() && out.size() < max; p++) {
            for (int s = 0; s < samples && out.size() < max; s++) {
                if (cancelled.getAsBoolean()) throw new steering.common.ops.OperationCancelledException("corpus generation");
                String prompt = g.getPrompts(p);
                out.add(prompt + model.generate(prompt, maxTokens, temperature, seed + 1000L * p + s));
            }
        }
        return out;
    }

    private Path datasetFile(String name, String field) {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw Errors.invalid(field, "'" + name + "' is not a dataset name; known: " + datasets());
        }
        Path d = corpusDir.resolve(name);
        Path f = Files.isDirectory(d) ? textFile(d) : null;
        if (f == null) throw Errors.invalid(field, "no dataset '" + name + "' in the corpus directory; known: " + datasets());
        return f;
    }

    private Path checkPath(String p, String field) {
        if (p.isEmpty()) throw Errors.invalid(field, "a file path is required");
        Path path = Path.of(p).toAbsolutePath().normalize();
        if (!roots.allows(path)) throw Errors.invalid(field, "'" + p + "' is outside the readable roots " + roots);
        if (!Files.isRegularFile(path)) throw Errors.invalid(field, "'" + p + "' is not a readable file");
        String n = path.getFileName().toString();
        if (!(n.endsWith(".jsonl") || n.endsWith(".json") || n.endsWith(".txt"))) {
            throw Errors.invalid(field, "'" + p + "' must end in .jsonl, .json or .txt");
        }
        return path;
    }

    private static Path textFile(Path dir) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jsonl")) {
            for (Path p : ds) return p;
        } catch (IOException e) {
            return null;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
            for (Path p : ds) return p;
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    static List<String> readFile(Path f, int max) throws IOException {
        String name = f.getFileName().toString();
        List<String> out = new ArrayList<>();
        try {
            if (name.endsWith(".jsonl")) {
                try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                    String line;
                    while ((line = r.readLine()) != null && out.size() < max) {
                        if (line.isBlank()) continue;
                        JsonNode n = JSON.readTree(line);
                        out.add(n.isTextual() ? n.asText() : n.path("text").asText());
                    }
                }
            } else if (name.endsWith(".json")) {
                JsonNode n = JSON.readTree(f.toFile());
                if (!n.isArray()) throw Errors.invalid("corpus", f.getFileName() + " is not a JSON list of strings");
                for (JsonNode t : n) {
                    if (out.size() >= max) break;
                    out.add(t.isTextual() ? t.asText() : t.path("text").asText());
                }
            } else {
                String all = Files.readString(f, StandardCharsets.UTF_8);
                for (String doc : all.split("\\n\\s*\\n")) {
                    if (out.size() >= max) break;
                    if (!doc.isBlank()) out.add(doc.strip());
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw Errors.invalid("corpus", f.getFileName() + " is not valid JSON: " + e.getOriginalMessage());
        }
        return out;
    }
}
