package steering.model.loader;

import steering.common.gguf.GgufFile;
import steering.common.gguf.GgufTensorInfo;
import steering.model.runtime.ModelConfig;
import steering.model.runtime.WeightSource;

import java.io.IOException;

/**
 * Weights of a GGUF file under Hugging Face names and values, dequantized to float32, so one forward serves both
 * formats. Two things llama.cpp's converter changed are undone here: it reorders the rows of q and k for Llama
 * models (interleaved-pair RoPE; put back into rotate-half order), and it stores Gemma's norm weights as 1 + w
 * (w is returned, as transformers' GGUF loader does, and the forward adds the 1 back in float32 like Gemma does).
 */
final class GgufWeights implements WeightSource {
    private final GgufFile file;
    private final ModelConfig cfg;
    private final boolean permutedQk;
    private final boolean gemma;

    GgufWeights(GgufFile file, ModelConfig cfg) {
        this.file = file;
        this.cfg = cfg;
        this.permutedQk = cfg.architecture().equals("llama");
        this.gemma = isGemma(cfg.architecture());
    }

    static boolean isGemma(String architecture) {
        return architecture.equals("gemma2") || architecture.equals("gemma3");
    }

    /**
     * The GGUF tensor that holds a Hugging Face weight. Gemma's block has four norms, and llama.cpp calls the MLP's
     * pre-norm ffn_norm in both families, so post_attention_layernorm maps to a different tensor for Gemma.
     */
    static String ggufName(String hfName, boolean gemma) {
        if (hfName.equals("model.embed_tokens.weight")) return "token_embd.weight";
        if (hfName.equals("model.norm.weight")) return "output_norm.weight";
        if (hfName.equals("lm_head.weight")) return "output.weight";
        if (!hfName.startsWith("model.layers.")) return null;
        String rest = hfName.substring("model.layers.".length());
        int dot = rest.indexOf('.');
        String layer = rest.substring(0, dot);
        String part = rest.substring(dot + 1);
        String mapped = switch (part) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "post_attention_layernorm.weight" -> gemma ? "post_attention_norm.weight" : "ffn_norm.weight";
            case "pre_feedforward_layernorm.weight" -> gemma ? "ffn_norm.weight" : null;
            case "post_feedforward_layernorm.weight" -> gemma ? "post_ffw_norm.weight" : null;
            case "self_attn.q_norm.weight" -> "attn_q_norm.weight";
            case "self_attn.k_norm.weight" -> "attn_k_norm.weight";
            case "self_attn.q_proj.weight" -> "attn_q.weight";
            case "self_attn.k_proj.weight" -> "attn_k.weight";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "self_attn.q_proj.bias" -> "attn_q.bias";
            case "self_attn.k_proj.bias" -> "attn_k.bias";
            case "self_attn.v_proj.bias" -> "attn_v.bias";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            default -> null;
        };
        return mapped == null ? null : "blk." + layer + "." + mapped;
    }

    @Override
    public boolean has(String name) {
        String g = ggufName(name, gemma);
        return g != null && file.tensor(g) != null;
    }

    @Override
    public float[] read(String name) throws IOException {
        String g = ggufName(name, gemma);
        GgufTensorInfo info = g == null ? null : file.tensor(g);
        if (info == null) throw new IOException("the GGUF file has no tensor for " + name + (g == null ? "" : " (" + g + ")"));
        float[] data = file.readFloats(g);
        if (gemma && name.endsWith("norm.weight")) {
            for (int i = 0; i < data.length; i++) data[i] -= 1f;
            return data;
        }
        if (permutedQk && name.endsWith("self_attn.q_proj.weight")) return unpermute(data, cfg.nHeads(), cfg.dModel());
        if (permutedQk && name.endsWith("self_attn.k_proj.weight")) return unpermute(data, cfg.nKvHeads(), cfg.dModel());
        if (permutedQk && name.endsWith("self_attn.q_proj.bias")) return unpermute(data, cfg.nHeads(), 1);
        if (permutedQk && name.endsWith("self_attn.k_proj.bias")) return unpermute(data, cfg.nKvHeads(), 1);
        return data;
    }

    /**
     * Inverse of llama.cpp's permute: within each head, GGUF row {@code 2i + j} holds Hugging Face row
     * {@code j * head_dim/2 + i} (i < head_dim/2, j in {0, 1}).
     */
    static float[] unpermute(float[] w, int heads, int cols) {
        int rowsPerHead = w.length / cols / heads;
        int half = rowsPerHead / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    int src = h * rowsPerHead + 2 * i + j;
                    int dst = h * rowsPerHead + j * half + i;
                    System.arraycopy(w, src * cols, out, dst * cols, cols);
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        file.close();
    }
}
