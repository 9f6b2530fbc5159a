package steering.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/** The process's memory as the kernel counts it (Linux). */
final class Memory {
    private Memory() {}

    /** Peak resident set size of this process so far (VmHWM), in bytes; -1 when unknown. */
    static long peakRssBytes() throws Exception {
        return status("VmHWM:");
    }

    /** Current resident set size (VmRSS), in bytes; -1 when unknown. */
    static long rssBytes() throws Exception {
        return status("VmRSS:");
    }

    private static long status(String key) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        return -1;
    }
}
