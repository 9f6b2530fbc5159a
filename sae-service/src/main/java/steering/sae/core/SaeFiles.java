package steering.sae.core;

import steering.v1.SaeSourceFormat;

import java.util.Map;

/** An SAE as read from disk: what it computes, its weights, and where it came from. */
public record SaeFiles(SaeConfig config, SaeWeights weights, SaeSourceFormat format, Map<String, String> notes) {}
