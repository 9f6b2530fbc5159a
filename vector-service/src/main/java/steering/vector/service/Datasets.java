package steering.vector.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import steering.common.grpc.Errors;
import steering.v1.AbItem;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Files below the service's dataset directory: A/B question sets (JSONL of {question, answer_matching_behavior,
 * answer_not_matching_behavior}) and text corpora (a folder holding a .jsonl file of {"text": ...} lines or a .json
 * list of strings). Paths are relative and may not leave the directory.
 */
public final class Datasets {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final int MAX_ITEMS = 2000;

    private final Path root;

    public Datasets(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    Path resolve(String relative, String field) {
        if (relative.isEmpty()) throw Errors.invalid(field, "a path below the dataset directory is required");
        Path p = root.resolve(relative).normalize();
        if (!p.startsWith(root) || Path.of(relative).isAbsolute()) {
            throw Errors.invalid(field, "'" + relative + "' must be a relative path inside the dataset directory");
        }
        return p;
    }

    /** A/B items of a JSONL file, the first {@code max} of them (0 = all, capped at MAX_ITEMS). */
    public List<AbItem> abItems(String relative, int max, String field) {
        Path p = resolve(relative, field);
        if (!Files.isRegularFile(p)) throw Errors.invalid(field, "'" + relative + "' is not a file of the dataset directory");
        int limit = max <= 0 ? MAX_ITEMS : Math.min(max, MAX_ITEMS);
        List<AbItem> out = new ArrayList<>();
        try {
            int line = 0;
            for (String s : Files.readAllLines(p)) {
                line++;
                if (s.isBlank()) continue;
                if (out.size() >= limit) break;
                JsonNode n;
                try {
                    n = JSON.readTree(s);
                } catch (IOException e) {
                    throw Errors.invalid(field, relative + " line " + line + " is not JSON: " + e.getMessage());
                }
                if (!n.hasNonNull("question") || !n.hasNonNull("answer_matching_behavior") || !n.hasNonNull("answer_not_matching_behavior")) {
                    throw Errors.invalid(field, relative + " line " + line + " lacks question / answer_matching_behavior / answer_not_matching_behavior");
                }
                out.add(AbItem.newBuilder().setQuestion(n.get("question").asText())
                        .setAnswerMatchingBehavior(n.get("answer_matching_behavior").asText())
                        .setAnswerNotMatchingBehavior(n.get("answer_not_matching_behavior").asText()).build());
            }
        } catch (IOException e) {
            throw Errors.invalid(field, "cannot read '" + relative + "': " + e.getMessage());
        }
        return out;
    }

    /** The texts of a corpus folder (or file), the first {@code max}. */
    public List<String> texts(String relative, int max, String field) {
        Path p = resolve(relative, field);
        Path file = p;
        if (Files.isDirectory(p)) {
            file = null;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(p, "*.{jsonl,json}")) {
                List<Path> files = new ArrayList<>();
                ds.forEach(files::add);
                files.sort((a, b) -> a.toString().endsWith(".jsonl") == b.toString().endsWith(".jsonl")
                        ? a.compareTo(b) : (a.toString().endsWith(".jsonl") ? -1 : 1));
                if (!files.isEmpty()) file = files.get(0);
            } catch (IOException e) {
                throw Errors.invalid(field, "cannot read '" + relative + "': " + e.getMessage());
            }
        }
        if (file == null || !Files.isRegularFile(file)) throw Errors.invalid(field, "'" + relative + "' holds no .jsonl or .json corpus");
        List<String> out = new ArrayList<>();
        try {
            if (file.toString().endsWith(".jsonl")) {
                for (String s : Files.readAllLines(file)) {
                    if (s.isBlank()) continue;
                    if (out.size() >= max) break;
                    JsonNode n = JSON.readTree(s);
                    if (n.isTextual()) out.add(n.asText());
                    else if (n.hasNonNull("text")) out.add(n.get("text").asText());
                }
            } else {
                JsonNode n = JSON.readTree(file.toFile());
                if (!n.isArray()) throw Errors.invalid(field, file.getFileName() + " is not a JSON list of strings");
                for (JsonNode t : n) {
                    if (out.size() >= max) break;
                    out.add(t.isTextual() ? t.asText() : t.path("text").asText());
                }
            }
        } catch (IOException e) {
            throw Errors.invalid(field, "cannot read '" + relative + "': " + e.getMessage());
        }
        return out;
    }

    public String sha256(String relative) {
        try {
            Path p = resolve(relative, "dataset");
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(md.digest(Files.readAllBytes(p)));
        } catch (IOException | NoSuchAlgorithmException e) {
            return "unknown";
        }
    }
}
