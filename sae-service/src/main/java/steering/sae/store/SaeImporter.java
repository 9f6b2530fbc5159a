package steering.sae.store;

import steering.common.grpc.Errors;
import steering.common.steer.HookPoint;
import steering.sae.core.SaeConfig;
import steering.sae.core.SaeFiles;
import steering.sae.core.SaeLoaders;
import steering.sae.corpus.ReadableRoots;
import steering.v1.ImportSaeRequest;
import steering.v1.SaeInfo;
import steering.v1.SaeSourceFormat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ImportSae: an SAE in a public format, read from a path on the server, stored in the SAELens layout.
 *
 * @param roots the directories a request may read from
 */
public record SaeImporter(SaeStore store, ReadableRoots roots) {
    /** Imports under {@code id} (already checked); the request's model id and hook override what the files say. */
    public SaeInfo importSae(String id, ImportSaeRequest request) throws IOException {
        if (request.getPath().isEmpty()) throw Errors.invalid("path", "a directory or .npz file on the server is required");
        Path path = Path.of(request.getPath()).toAbsolutePath().normalize();
        if (!roots.allows(path)) throw Errors.invalid("path", "'" + request.getPath() + "' is outside the readable roots " + roots);
        String hook = request.getHook().getName();
        if (!hook.isEmpty() && !HookPoint.isName(hook)) {
            throw Errors.invalid("hook.name", "'" + hook + "' is not a hook name (" + HookPoint.GRAMMAR + ")");
        }
        if (request.getFormat() == SaeSourceFormat.UNRECOGNIZED) throw Errors.invalid("format", "unknown format value");
        SaeFiles files;
        try {
            files = SaeLoaders.load(path, request.getFormat());
        } catch (SaeLoaders.SaeFormatException e) {
            throw Errors.invalid("path", e.getMessage());
        }
        SaeConfig cfg = files.config().withModelAndHook(
                request.getModelId().isEmpty() ? files.config().modelId() : request.getModelId(),
                hook.isEmpty() ? files.config().hookName() : hook);
        Map<String, String> meta = new LinkedHashMap<>(files.notes());
        meta.put("imported_from", files.format().name());
        SaeRecord record = new SaeRecord(id, cfg, files.format(), path.toString(), Instant.now(), meta, Map.of());
        store.save(record, files.weights(), null, request.getOverwrite());
        return record.toInfo(false);
    }
}
