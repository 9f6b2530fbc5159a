package steering.gateway.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The gateway's API keys. Clients send one as {@code Authorization: Bearer <key>} (what OpenAI clients do with
 * their api_key) or as {@code x-api-key: <key>}. With no keys configured, authentication is off (local use).
 */
public final class ApiKeys {
    private final Set<String> keys;

    public ApiKeys(List<String> keys) {
        this.keys = keys.stream().map(String::strip).filter(k -> !k.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }

    public boolean enabled() {
        return !keys.isEmpty();
    }

    /** True when auth is off or one of the headers carries a configured key. */
    public boolean accepts(String authorization, String apiKeyHeader) {
        if (!enabled()) return true;
        String presented = presented(authorization, apiKeyHeader);
        if (presented == null) return false;
        byte[] p = presented.getBytes(StandardCharsets.UTF_8);
        boolean ok = false;
        for (String k : keys) ok |= MessageDigest.isEqual(p, k.getBytes(StandardCharsets.UTF_8)); // constant time
        return ok;
    }

    /** The key a request presents ({@code Authorization: Bearer <key>}, else {@code x-api-key}), or null. */
    static String presented(String authorization, String apiKeyHeader) {
        String presented = null;
        if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) presented = authorization.substring(7).strip();
        else if (apiKeyHeader != null) presented = apiKeyHeader.strip();
        return presented == null || presented.isEmpty() ? null : presented;
    }
}
