package steering.model.loader;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import steering.common.gguf.GgufWriter;
import steering.common.safetensors.SafetensorsFile;
import steering.model.runtime.DecoderOptions;
import steering.model.runtime.ForwardStep;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The gemma2 GGUF path, for which no file can be fetched here: the random-weight Gemma 2 fixture (whose logits
 * transformers computed, see GemmaTinyRandomTest) is rewritten in llama.cpp's layout and metadata, then loaded as a
 * GGUF. llama.cpp's converter stores norm weights as 1 + w, names the MLP's pre-norm ffn_norm and the sandwich
 * norms post_attention_norm / post_ffw_norm, keeps q and k unpermuted for Gemma, and has no key for
 * query_pre_attn_scalar (it scales by 1/sqrt(head_dim)), so the fixture's scalar is folded into W_q here.
 */
class Gemma2GgufLayoutTest {
    @TempDir
    Path dir;

    @Test
    void gemma2FromAGgufInLlamaCppLayoutGivesTransformersLogits() throws Exception {
        Path hf = Path.of(getClass().getResource("/reference/gemma2-tiny-random").toURI());
        JsonNode cfg = new ObjectMapper().readTree(hf.resolve("config.json").toFile());
        JsonNode ref = new ObjectMapper().readTree(hf.resolve("reference.json").toFile());
        int d = cfg.get("hidden_size").asInt();
        int headDim = cfg.get("head_dim").asInt();
        int vocab = cfg.get("vocab_size").asInt();
        float qFold = (float) Math.sqrt((double) headDim / cfg.get("query_pre_attn_scalar").asDouble());

        GgufWriter w = new GgufWriter()
                .put("general.architecture", "gemma2")
                .putUint32("gemma2.context_length", cfg.get("max_position_embeddings").asInt())
                .putUint32("gemma2.embedding_length", d)
                .putUint32("gemma2.block_count", cfg.get("num_hidden_layers").asInt())
                .putUint32("gemma2.feed_forward_length", cfg.get("intermediate_size").asInt())
                .putUint32("gemma2.attention.head_count", cfg.get("num_attention_heads").asInt())
                .putUint32("gemma2.attention.head_count_kv", cfg.get("num_key_value_heads").asInt())
                .putUint32("gemma2.attention.key_length", headDim)
                .putUint32("gemma2.attention.value_length", headDim)
                .put("gemma2.attention.layer_norm_rms_epsilon", (float) cfg.get("rms_norm_eps").asDouble())
                .put("gemma2.attn_logit_softcapping", (float) cfg.get("attn_logit_softcapping").asDouble())
                .put("gemma2.final_logit_softcapping", (float) cfg.get("final_logit_softcapping").asDouble())
                .putUint32("gemma2.attention.sliding_window", cfg.get("sliding_window").asInt())
                .put("gemma2.rope.freq_base", (float) cfg.get("rope_parameters").get("rope_theta").asDouble());
        List<String> tokens = new ArrayList<>(List.of("<pad>", "<eos>", "<bos>", "<unk>"));
        List<Integer> types = new ArrayList<>(List.of(3, 3, 3, 3));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f, 0f));
        // printable ASCII, "▁", then unused control pieces up to the embedding's row count
        for (char ch = '!'; ch <= '~'; ch++) tokens.add(String.valueOf(ch));
        tokens.add("\u2581");
        while (types.size() < tokens.size()) {
            types.add(1);
            scores.add((float) -types.size());
        }
        for (int i = 0; tokens.size() < vocab; i++) {
            tokens.add("<unused" + i + ">");
            types.add(3);
            scores.add(0f);
        }
        w.put("tokenizer.ggml.model", "llama").put("tokenizer.ggml.tokens", tokens)
                .put("tokenizer.ggml.token_type", types).put("tokenizer.ggml.scores", scores)
                .putUint32("tokenizer.ggml.bos_token_id", 2).putUint32("tokenizer.ggml.eos_token_id", 1)
                .put("tokenizer.ggml.add_bos_token", true).put("tokenizer.ggml.add_space_prefix", false);

        try (SafetensorsFile st = SafetensorsFile.open(hf.resolve("model.safetensors"))) {
            for (Map.Entry<String, SafetensorsFile.TensorEntry> e : st.tensors().entrySet()) {
                String name = e.getKey();
                float[] data = st.readFloats(name);
                String g = ggufName(name);
                if (name.endsWith("norm.weight")) for (int i = 0; i < data.length; i++) data[i] += 1f;
                if (name.endsWith("q_proj.weight")) for (int i = 0; i < data.length; i++) data[i] *= qFold;
                long[] shape = e.getValue().shape();
                long[] ne = shape.length == 1 ? new long[]{shape[0]} : new long[]{shape[1], shape[0]};
                w.addTensor(g, ne, data);
            }
        }
        Path gguf = dir.resolve("gemma2-tiny.gguf");
        w.write(gguf);

        try (NDManager manager = NDManager.newBaseManager();
             LoadedModel model = ModelLoader.load(gguf, manager, 0)) {
            DecoderOptions o = model.config().options();
            assertEquals("gemma2", model.config().architecture());
            assertEquals(List.of(true, false, true, false), o.slidingLayers());
            assertEquals(4f, o.attnLogitSoftcap());
            assertEquals(5f, o.finalLogitSoftcap());
            assertEquals(headDim, o.queryPreAttnScalar());
            assertArrayEquals(new int[]{2, tokens.indexOf("h"), tokens.indexOf("i"), tokens.indexOf("\u2581"), tokens.indexOf("!")},
                    model.tokenizer().encode("hi !", true));
            assertNotNull(model.chatTemplate(), "Gemma's turn format for a GGUF without a template");

            int[] ids = new int[ref.get("input_ids").size()];
            for (int i = 0; i < ids.length; i++) ids[i] = ref.get("input_ids").get(i).asInt();
            float[] logits = model.transformer().forward(List.of(new ForwardStep(ids, 0, -1, List.of(), 0, Set.of())), null)
                    .get(0).logits();
            double max = 0;
            int k = 0;
            for (JsonNode row : ref.get("logits")) for (JsonNode v : row) max = Math.max(max, Math.abs(v.asDouble() - logits[k++]));
            assertTrue(max < 2e-4, "max |logit - transformers| " + max);
        }
    }

    /** llama.cpp's tensor names for the Gemma 2 weights of a Hugging Face checkpoint. */
    private static String ggufName(String hf) {
        if (hf.equals("model.embed_tokens.weight")) return "token_embd.weight";
        if (hf.equals("model.norm.weight")) return "output_norm.weight";
        String[] p = hf.split("\\.", 4); // model, layers, i, rest
        String rest = switch (p[3]) {
            case "input_layernorm.weight" -> "attn_norm.weight";
            case "post_attention_layernorm.weight" -> "post_attention_norm.weight";
            case "pre_feedforward_layernorm.weight" -> "ffn_norm.weight";
            case "post_feedforward_layernorm.weight" -> "post_ffw_norm.weight";
            case "self_attn.q_proj.weight" -> "attn_q.weight";
            case "self_attn.k_proj.weight" -> "attn_k.weight";
            case "self_attn.v_proj.weight" -> "attn_v.weight";
            case "self_attn.o_proj.weight" -> "attn_output.weight";
            case "mlp.gate_proj.weight" -> "ffn_gate.weight";
            case "mlp.up_proj.weight" -> "ffn_up.weight";
            case "mlp.down_proj.weight" -> "ffn_down.weight";
            default -> throw new IllegalArgumentException(hf);
        };
        return "blk." + p[2] + "." + rest;
    }
}
