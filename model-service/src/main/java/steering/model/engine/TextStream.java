package steering.model.engine;

import java.util.List;

/**
 * Turns the growing decoded text of a generation into deltas for the client. It holds back text that might still
 * become a stop string, and an unfinished multi-byte character (decoded as U+FFFD until its last byte arrives).
 */
final class TextStream {
    private final List<String> stops;
    private int emitted;
    private String stopped;

    TextStream(List<String> stops) {
        this.stops = stops;
    }

    /** The delta to send now, given the whole text decoded so far. */
    String advance(String full) {
        int limit = full.length();
        for (String stop : stops) {
            int at = full.indexOf(stop, Math.max(0, emitted - stop.length()));
            if (at >= 0 && at < limit) {
                limit = at;
                stopped = stop;
            }
        }
        if (stopped == null) {
            while (limit > emitted && full.charAt(limit - 1) == '\uFFFD') limit--;
            for (String stop : stops) {
                for (int k = Math.min(stop.length() - 1, limit - emitted); k > 0; k--) {
                    if (full.startsWith(stop.substring(0, k), limit - k)) {
                        limit -= k;
                        break;
                    }
                }
            }
        }
        if (limit <= emitted) return "";
        String delta = full.substring(emitted, limit);
        emitted = limit;
        return delta;
    }

    /** Whatever is still held back, at the end of a generation that did not stop on a stop string. */
    String flush(String full) {
        if (stopped != null || full.length() <= emitted) return "";
        String delta = full.substring(emitted);
        emitted = full.length();
        return delta;
    }

    boolean stopped() {
        return stopped != null;
    }
}
