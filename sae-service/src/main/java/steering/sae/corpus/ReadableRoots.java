package steering.sae.corpus;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The directories below which clients may name server files (imports, corpus files); "*" allows any. */
public final class ReadableRoots {
    private final boolean any;
    private final List<Path> roots;

    private ReadableRoots(boolean any, List<Path> roots) {
        this.any = any;
        this.roots = roots;
    }

    public static ReadableRoots anywhere() {
        return new ReadableRoots(true, List.of());
    }

    /** Parses a comma-separated list; "*" (alone) allows any path, an empty list allows none. */
    public static ReadableRoots parse(String spec) {
        if (spec == null) return new ReadableRoots(false, List.of());
        if (spec.trim().equals("*")) return anywhere();
        List<Path> roots = new ArrayList<>();
        for (String s : spec.split(",")) if (!s.isBlank()) roots.add(Path.of(s.trim()).toAbsolutePath().normalize());
        return new ReadableRoots(false, roots);
    }

    public boolean allows(Path p) {
        if (any) return true;
        Path n = p.toAbsolutePath().normalize();
        for (Path r : roots) if (n.startsWith(r)) return true;
        return false;
    }

    @Override
    public String toString() {
        return any ? "*" : roots.toString();
    }
}
