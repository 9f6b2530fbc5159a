package steering.sae.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import steering.common.io.AtomicFiles;
import steering.common.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes an SAE in the SAELens (v6) directory layout: {@code cfg.json} and {@code sae_weights.safetensors} with
 * {@code W_enc [d_in, d_sae]}, {@code b_enc}, {@code W_dec [d_sae, d_in]}, {@code b_dec} and, for JumpReLU and
 * BatchTopK-with-threshold, {@code threshold}. SAELens' {@code SAE.load_from_disk} reads the result.
 */
public final class SaeLensWriter {
    /** The cfg.json schema version this layout follows (SAELens reads pre-6 configs differently). */
    public static final String CFG_SCHEMA_VERSION = "6.0.0";
    private static final ObjectMapper JSON = new ObjectMapper();

    private SaeLensWriter() {}

    public static void write(Path dir, SaeConfig cfg, SaeWeights w) throws IOException {
        w.validate(cfg);
        SafetensorsWriter st = new SafetensorsWriter()
                .add("W_enc", new long[]{cfg.dIn(), cfg.dSae()}, w.wEnc())
                .add("b_enc", new long[]{cfg.dSae()}, w.bEnc())
                .add("W_dec", new long[]{cfg.dSae(), cfg.dIn()}, w.wDec())
                .add("b_dec", new long[]{cfg.dIn()}, w.bDec());
        if (w.threshold() != null) st.add("threshold", new long[]{cfg.dSae()}, w.threshold());
        if (w.decodeScale() != null) st.add("scaling_factor", new long[]{cfg.dSae()}, w.decodeScale());
        st.metadata("format", "pt");
        st.write(dir.resolve("sae_weights.safetensors"));
        AtomicFiles.writeString(dir.resolve("cfg.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(cfgJson(cfg, w)));
    }

    static ObjectNode cfgJson(SaeConfig cfg, SaeWeights w) {
        ObjectNode c = JSON.createObjectNode();
        // BatchTopK SAEs with a threshold are saved as JumpReLU, as SAELens does
        Architecture arch = cfg.architecture() == Architecture.BATCHTOPK && w.threshold() != null ? Architecture.JUMPRELU : cfg.architecture();
        c.put("architecture", arch.saeLensName());
        c.put("d_in", cfg.dIn());
        c.put("d_sae", cfg.dSae());
        c.put("dtype", "float32");
        c.put("device", "cpu");
        c.put("apply_b_dec_to_input", cfg.applyBDecToInput());
        c.put("normalize_activations", cfg.normalization().saeLensName());
        c.put("reshape_activations", "none");
        if (arch.usesK()) c.put("k", cfg.k());
        if (arch == Architecture.TOPK) c.put("rescale_acts_by_decoder_norm", cfg.rescaleActsByDecoderNorm());
        ObjectNode meta = c.putObject("metadata");
        meta.put("model_name", cfg.modelId());
        meta.put("hook_name", cfg.hookName());
        meta.putNull("hook_head_index");
        meta.put("prepend_bos", cfg.prependBos());
        if (cfg.contextSize() > 0) meta.put("context_size", cfg.contextSize());
        else meta.putNull("context_size");
        meta.put("dataset_path", cfg.datasetPath());
        meta.put("sae_lens_version", CFG_SCHEMA_VERSION);
        meta.put("sae_lens_training_version", CFG_SCHEMA_VERSION);
        return c;
    }
}
