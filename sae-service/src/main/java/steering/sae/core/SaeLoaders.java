package steering.sae.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import steering.common.npz.NpyArray;
import steering.common.npz.NpzFile;
import steering.common.safetensors.SafetensorsFile;
import steering.v1.SaeSourceFormat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads SAEs in the public formats:
 * <ul>
 *   <li>SAELens directories: {@code cfg.json} (v6 with a {@code metadata} object, or the flat pre-6 layout) and
 *       {@code sae_weights.safetensors} ({@code W_enc [d_in, d_sae]}, {@code b_enc}, {@code W_dec [d_sae, d_in]},
 *       {@code b_dec}, JumpReLU {@code threshold} or {@code log_threshold}, optional {@code scaling_factor});</li>
 *   <li>Gemma Scope {@code params.npz} (JumpReLU: {@code W_enc, b_enc, threshold, W_dec, b_dec}; no b_dec
 *       subtraction, no normalisation);</li>
 *   <li>EleutherAI sparsify directories: {@code cfg.json} and {@code sae.safetensors} ({@code encoder.weight
 *       [num_latents, d_in]}, {@code encoder.bias}, {@code W_dec [num_latents, d_in]}, {@code b_dec}); TopK with
 *       b_dec subtracted from the input.</li>
 * </ul>
 * Malformed input raises {@link SaeFormatException} with a message that names the file and the problem.
 */
public final class SaeLoaders {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LAYER_DIR = Pattern.compile("(?:^|/)layer_(\\d+)(?:/|$)");
    private static final Pattern SPARSIFY_LAYER = Pattern.compile("^layers\\.(\\d+)$");

    private SaeLoaders() {}

    public static final class SaeFormatException extends IOException {
        public SaeFormatException(String message) {
            super(message);
        }

        public SaeFormatException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Detects the format of a path: a .npz file or a directory holding one of the three layouts. */
    public static SaeSourceFormat detect(Path path) throws SaeFormatException {
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".npz")) return SaeSourceFormat.SAE_SOURCE_FORMAT_GEMMA_SCOPE;
        if (!Files.isDirectory(path)) throw new SaeFormatException(path + " is neither a directory nor a .npz file");
        if (Files.isRegularFile(path.resolve("sae_weights.safetensors"))) return SaeSourceFormat.SAE_SOURCE_FORMAT_SAELENS;
        if (Files.isRegularFile(path.resolve("sae.safetensors"))) return SaeSourceFormat.SAE_SOURCE_FORMAT_SPARSIFY;
        if (Files.isRegularFile(path.resolve("params.npz"))) return SaeSourceFormat.SAE_SOURCE_FORMAT_GEMMA_SCOPE;
        throw new SaeFormatException(path + " holds no known SAE layout (SAELens cfg.json + sae_weights.safetensors, "
                + "sparsify cfg.json + sae.safetensors, or Gemma Scope params.npz)");
    }

    public static SaeFiles load(Path path, SaeSourceFormat format) throws IOException {
        SaeSourceFormat f = format == null || format == SaeSourceFormat.SAE_SOURCE_FORMAT_UNSPECIFIED
                || format == SaeSourceFormat.UNRECOGNIZED ? detect(path) : format;
        return switch (f) {
            case SAE_SOURCE_FORMAT_SAELENS -> loadSaeLens(path);
            case SAE_SOURCE_FORMAT_GEMMA_SCOPE -> loadGemmaScope(Files.isDirectory(path) ? path.resolve("params.npz") : path);
            case SAE_SOURCE_FORMAT_SPARSIFY -> loadSparsify(path);
            default -> throw new SaeFormatException("unknown SAE format " + f);
        };
    }

    // -------------------------------------------------------------------------------------------------------------
    // SAELens
    // -------------------------------------------------------------------------------------------------------------

    public static SaeFiles loadSaeLens(Path dir) throws IOException {
        Path cfgPath = dir.resolve("cfg.json");
        JsonNode cfg = readJson(cfgPath);
        // v6 keeps model facts in "metadata" (older 6.x: "meta"); pre-6 configs are flat
        JsonNode meta = cfg.has("metadata") && cfg.get("metadata").isObject() ? cfg.get("metadata")
                : cfg.has("meta") && cfg.get("meta").isObject() ? cfg.get("meta") : cfg;
        int dIn = requireInt(cfg, "d_in", cfgPath);
        int dSae = requireInt(cfg, "d_sae", cfgPath);
        String activationFn = text(cfg, "activation_fn", text(cfg, "activation_fn_str", "relu"));
        String archName = text(cfg, "architecture", activationFn.equals("topk") ? "topk" : "standard");
        Architecture arch;
        try {
            arch = Architecture.fromSaeLens(archName);
        } catch (IllegalArgumentException e) {
            throw new SaeFormatException(cfgPath + ": " + e.getMessage());
        }
        int k = 0;
        if (cfg.has("k") && cfg.get("k").isNumber()) {
            double kv = cfg.get("k").asDouble();
            k = (int) Math.round(kv);
        } else if (cfg.has("activation_fn_kwargs") && cfg.get("activation_fn_kwargs").has("k")) {
            k = cfg.get("activation_fn_kwargs").get("k").asInt();
        }
        boolean applyBDec = !cfg.has("apply_b_dec_to_input") || cfg.get("apply_b_dec_to_input").asBoolean(true);
        Normalization norm;
        JsonNode n = cfg.get("normalize_activations");
        try {
            norm = n == null || n.isNull() ? Normalization.NONE
                    : n.isBoolean() ? (n.asBoolean() ? Normalization.EXPECTED_AVERAGE_ONLY_IN : Normalization.NONE)
                    : Normalization.fromSaeLens(n.asText());
        } catch (IllegalArgumentException e) {
            throw new SaeFormatException(cfgPath + ": " + e.getMessage());
        }
        String reshape = text(cfg, "reshape_activations", "none");
        if (!reshape.equals("none")) {
            throw new SaeFormatException(cfgPath + ": reshape_activations '" + reshape + "' (attention hook_z SAEs) is not supported; "
                    + "residual-stream SAEs use 'none'");
        }
        boolean rescale = cfg.path("rescale_acts_by_decoder_norm").asBoolean(false);
        String hook = text(meta, "hook_name", text(meta, "hook_point", text(cfg, "hook_name", text(cfg, "hook_point", ""))));
        String model = text(meta, "model_name", text(cfg, "model_name", ""));
        boolean prependBos = meta.path("prepend_bos").asBoolean(cfg.path("prepend_bos").asBoolean(true));
        int context = meta.path("context_size").asInt(cfg.path("context_size").asInt(0));
        String dataset = text(meta, "dataset_path", text(cfg, "dataset_path", ""));

        Map<String, String> notes = new LinkedHashMap<>();
        SaeWeights w;
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve("sae_weights.safetensors"))) {
            float[] wEnc = tensor(st, "W_enc", new long[]{dIn, dSae});
            float[] bEnc = st.tensor("b_enc") != null ? tensor(st, "b_enc", new long[]{dSae}) : new float[dSae];
            float[] wDec = tensor(st, "W_dec", new long[]{dSae, dIn});
            float[] bDec = tensor(st, "b_dec", new long[]{dIn});
            float[] threshold = null;
            if (st.tensor("threshold") != null) {
                threshold = tensor(st, "threshold", new long[]{dSae});
            } else if (st.tensor("log_threshold") != null) {
                threshold = tensor(st, "log_threshold", new long[]{dSae});
                for (int i = 0; i < threshold.length; i++) threshold[i] = (float) Math.exp(threshold[i]);
            } else if (arch == Architecture.BATCHTOPK && st.tensor("topk_threshold") != null) {
                float t = st.readFloats("topk_threshold")[0];
                threshold = new float[dSae];
                java.util.Arrays.fill(threshold, t);
            }
            if (arch == Architecture.JUMPRELU && threshold == null) {
                throw new SaeFormatException(dir + ": a jumprelu SAE needs a 'threshold' (or 'log_threshold') tensor");
            }
            float[] scale = null;
            if (st.tensor("scaling_factor") != null) {
                scale = tensor(st, "scaling_factor", new long[]{dSae});
                boolean ones = true;
                for (float v : scale) if (v != 1f) ones = false;
                if (ones) scale = null;
                else notes.put("finetuning_scaling_factor", "applied before decoding");
            }
            if (arch != Architecture.JUMPRELU && arch != Architecture.BATCHTOPK) threshold = null;
            w = new SaeWeights(wEnc, bEnc, wDec, bDec, threshold, scale);
        } catch (SaeFormatException e) {
            throw e.getMessage().startsWith(dir.toString()) ? e : new SaeFormatException(dir + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new SaeFormatException(dir + ": " + e.getMessage(), e);
        }
        if (norm == Normalization.EXPECTED_AVERAGE_ONLY_IN) {
            JsonNode factor = cfg.get("norm_scaling_factor");
            if (factor != null && factor.isNumber()) {
                fold(w, factor.floatValue());
                notes.put("norm_scaling_factor", "folded into the weights: " + factor.asText());
            } else {
                notes.put("norm_scaling_factor", "unknown, so not folded (as SAELens does)");
            }
            norm = Normalization.NONE;
        }
        SaeConfig config;
        try {
            config = new SaeConfig(arch, dIn, dSae, arch.usesK() ? k : 0, applyBDec, norm, rescale, model, hook,
                    prependBos, context, dataset);
            w.validate(config);
        } catch (IllegalArgumentException e) {
            throw new SaeFormatException(dir + ": " + e.getMessage());
        }
        return new SaeFiles(config, w, SaeSourceFormat.SAE_SOURCE_FORMAT_SAELENS, notes);
    }

    /** SAELens' fold_activation_norm_scaling_factor: W_enc * s, W_dec / s, b_dec / s. */
    private static void fold(SaeWeights w, float s) {
        for (int i = 0; i < w.wEnc().length; i++) w.wEnc()[i] *= s;
        for (int i = 0; i < w.wDec().length; i++) w.wDec()[i] /= s;
        for (int i = 0; i < w.bDec().length; i++) w.bDec()[i] /= s;
    }

    // -------------------------------------------------------------------------------------------------------------
    // Gemma Scope
    // -------------------------------------------------------------------------------------------------------------

    public static SaeFiles loadGemmaScope(Path npz) throws IOException {
        if (!Files.isRegularFile(npz)) throw new SaeFormatException(npz + " does not exist");
        Map<String, NpyArray> raw;
        try {
            raw = NpzFile.readAll(npz);
        } catch (IOException e) {
            throw new SaeFormatException(e.getMessage(), e);
        }
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        // SAELens renames w_* keys to W_*
        raw.forEach((key, a) -> arrays.put(key.startsWith("w_") ? "W_" + key.substring(2) : key, a));
        NpyArray wEnc = require(arrays, "W_enc", npz);
        if (wEnc.rank() != 2) throw new SaeFormatException(npz + ": W_enc has shape " + wEnc.shapeString() + ", expected [d_model, d_sae]");
        int dIn = (int) wEnc.shape()[0];
        int dSae = (int) wEnc.shape()[1];
        float[] bEnc = vector(arrays, "b_enc", dSae, npz);
        float[] threshold = vector(arrays, "threshold", dSae, npz);
        NpyArray wDec = require(arrays, "W_dec", npz);
        if (!wDec.hasShape(dSae, dIn)) throw new SaeFormatException(npz + ": W_dec has shape " + wDec.shapeString() + ", expected [" + dSae + ", " + dIn + "]");
        float[] bDec = vector(arrays, "b_dec", dIn, npz);
        Map<String, String> notes = new LinkedHashMap<>();
        float[] scale = null;
        if (arrays.containsKey("scaling_factor")) {
            float[] s = arrays.get("scaling_factor").data();
            boolean ones = true;
            for (float v : s) if (v != 1f) ones = false;
            if (!ones) {
                if (s.length != dSae) throw new SaeFormatException(npz + ": scaling_factor has " + s.length + " values, expected " + dSae);
                scale = s;
                notes.put("finetuning_scaling_factor", "applied before decoding");
            }
        }
        String hook = "";
        Matcher m = LAYER_DIR.matcher(npz.toAbsolutePath().toString().replace('\\', '/'));
        if (m.find()) {
            hook = "blocks." + m.group(1) + ".hook_resid_post";
            notes.put("hook", "guessed from the layer_" + m.group(1) + " folder (residual Gemma Scope SAEs read hook_resid_post)");
        }
        SaeWeights w = new SaeWeights(wEnc.data(), bEnc, wDec.data(), bDec, threshold, scale);
        SaeConfig config;
        try {
            config = new SaeConfig(Architecture.JUMPRELU, dIn, dSae, 0, false, Normalization.NONE, false, "", hook,
                    true, 1024, "monology/pile-uncopyrighted");
            w.validate(config);
        } catch (IllegalArgumentException e) {
            throw new SaeFormatException(npz + ": " + e.getMessage());
        }
        return new SaeFiles(config, w, SaeSourceFormat.SAE_SOURCE_FORMAT_GEMMA_SCOPE, notes);
    }

    // -------------------------------------------------------------------------------------------------------------
    // EleutherAI sparsify
    // -------------------------------------------------------------------------------------------------------------

    public static SaeFiles loadSparsify(Path dir) throws IOException {
        Path cfgPath = dir.resolve("cfg.json");
        JsonNode cfg = readJson(cfgPath);
        int dIn = requireInt(cfg, "d_in", cfgPath);
        int numLatents = cfg.path("num_latents").asInt(0);
        if (numLatents <= 0) {
            int expansion = cfg.path("expansion_factor").asInt(0);
            if (expansion <= 0) throw new SaeFormatException(cfgPath + ": needs num_latents or expansion_factor > 0");
            numLatents = dIn * expansion;
        }
        int k = requireInt(cfg, "k", cfgPath);
        String activation = text(cfg, "activation", "topk");
        if (!activation.equals("topk")) {
            throw new SaeFormatException(cfgPath + ": activation '" + activation + "' is not supported (only topk)");
        }
        if (cfg.path("transcode").asBoolean(false)) {
            throw new SaeFormatException(cfgPath + ": transcoders (transcode: true) are not SAEs of one hook point");
        }
        SaeWeights w;
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve("sae.safetensors"))) {
            if (st.tensor("W_skip") != null) {
                throw new SaeFormatException(dir + ": skip connections (W_skip) are not supported");
            }
            float[] enc = tensor(st, "encoder.weight", new long[]{numLatents, dIn});
            float[] wEnc = new float[enc.length];
            for (int j = 0; j < numLatents; j++) for (int i = 0; i < dIn; i++) wEnc[i * numLatents + j] = enc[j * dIn + i];
            float[] bEnc = st.tensor("encoder.bias") != null ? tensor(st, "encoder.bias", new long[]{numLatents}) : new float[numLatents];
            float[] wDec = tensor(st, "W_dec", new long[]{numLatents, dIn});
            float[] bDec = tensor(st, "b_dec", new long[]{dIn});
            w = new SaeWeights(wEnc, bEnc, wDec, bDec, null, null);
        } catch (SaeFormatException e) {
            throw e.getMessage().startsWith(dir.toString()) ? e : new SaeFormatException(dir + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new SaeFormatException(dir + ": " + e.getMessage(), e);
        }
        Map<String, String> notes = new LinkedHashMap<>();
        String hook = "";
        Matcher m = SPARSIFY_LAYER.matcher(dir.getFileName() == null ? "" : dir.getFileName().toString());
        if (m.matches()) {
            hook = "blocks." + m.group(1) + ".hook_resid_post";
            notes.put("hook", "from the folder name " + dir.getFileName() + " (the output of decoder layer " + m.group(1) + ")");
        }
        SaeConfig config;
        try {
            config = new SaeConfig(Architecture.TOPK, dIn, numLatents, k, true, Normalization.NONE, false, "", hook,
                    true, 0, "");
            w.validate(config);
        } catch (IllegalArgumentException e) {
            throw new SaeFormatException(dir + ": " + e.getMessage());
        }
        return new SaeFiles(config, w, SaeSourceFormat.SAE_SOURCE_FORMAT_SPARSIFY, notes);
    }

    // -------------------------------------------------------------------------------------------------------------

    private static JsonNode readJson(Path p) throws SaeFormatException {
        if (!Files.isRegularFile(p)) throw new SaeFormatException(p + " does not exist");
        try {
            JsonNode n = JSON.readTree(p.toFile());
            if (n == null || !n.isObject()) throw new SaeFormatException(p + ": not a JSON object");
            return n;
        } catch (IOException e) {
            throw new SaeFormatException(p + ": invalid JSON: " + e.getMessage(), e);
        }
    }

    private static int requireInt(JsonNode n, String key, Path p) throws SaeFormatException {
        JsonNode v = n.get(key);
        if (v == null || !v.canConvertToInt() || v.asInt() <= 0) throw new SaeFormatException(p + ": '" + key + "' must be a positive integer");
        return v.asInt();
    }

    private static String text(JsonNode n, String key, String dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    private static float[] tensor(SafetensorsFile st, String name, long[] shape) throws IOException {
        SafetensorsFile.TensorEntry e = st.tensor(name);
        if (e == null) throw new SaeFormatException("tensor " + name + " is missing");
        if (!java.util.Arrays.equals(e.shape(), shape)) {
            throw new SaeFormatException("tensor " + name + " has shape " + java.util.Arrays.toString(e.shape())
                    + ", expected " + java.util.Arrays.toString(shape));
        }
        return st.readFloats(name);
    }

    private static NpyArray require(Map<String, NpyArray> arrays, String key, Path p) throws SaeFormatException {
        NpyArray a = arrays.get(key);
        if (a == null) throw new SaeFormatException(p + ": array " + key + " is missing (has " + arrays.keySet() + ")");
        return a;
    }

    private static float[] vector(Map<String, NpyArray> arrays, String key, int len, Path p) throws SaeFormatException {
        NpyArray a = require(arrays, key, p);
        if (!a.hasShape(len)) throw new SaeFormatException(p + ": " + key + " has shape " + a.shapeString() + ", expected [" + len + "]");
        return a.data();
    }
}
