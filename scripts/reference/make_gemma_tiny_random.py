#!/usr/bin/env python3
"""Writes small random-weight Gemma 2 and Gemma 3 models in Hugging Face layout, with the outputs transformers'
Gemma2ForCausalLM / Gemma3ForCausalLM compute from them, as test fixtures for the Java forward.

No Gemma 2 checkpoint can be fetched here, so the gemma2 path is checked on weights we make: a seeded random
init that is big enough to matter (norm weights away from zero, attention scores and logits in the range where
soft-capping bends them, a sliding window shorter than the test sequence). The Gemma 3 model covers what the
270M GGUF cannot: a Hugging Face directory, linear RoPE scaling on global layers and an irregular layer pattern.

    venv=$(scripts/reference/setup-venv.sh)
    $venv/bin/python scripts/reference/make_gemma_tiny_random.py

writes model-service/src/test/resources/reference/gemma{2,3}-tiny-random/: config.json, model.safetensors,
tokenizer.json (a word-level vocabulary: the tests feed token ids), tokenizer_config.json and reference.json.

reference.json:
  * input_ids and logits of every position, one forward without a cache;
  * greedy: from the first PROMPT_LEN ids, GREEDY_STEPS argmax steps with a KV cache, the logits of every step;
  * residual stream at the last position (resid_pre of block 0, resid_mid and resid_post of every block), taken as
    TransformerLens defines them for sandwich norms: resid_mid = residual + post_attention_layernorm(attention),
    resid_post = resid_mid + post_feedforward_layernorm(mlp);
  * steered: the last-position logits with fixed vectors added (forward hooks) at resid_pre, resid_mid and
    resid_post of some blocks, at every position.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT_ROOT = REPO / "model-service/src/test/resources/reference"
SEQ_LEN = 12
PROMPT_LEN = 5
GREEDY_STEPS = 8
VOCAB = 128

COMMON = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2,
              num_key_value_heads=1, head_dim=16, max_position_embeddings=64, rms_norm_eps=1e-6,
              query_pre_attn_scalar=24, sliding_window=4, hidden_activation="gelu_pytorch_tanh",
              pad_token_id=0, eos_token_id=1, bos_token_id=2, tie_word_embeddings=True)

MODELS = {
    "gemma2": dict(COMMON, attn_logit_softcapping=4.0, final_logit_softcapping=5.0,
                   rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
    # global layers: base 100 with positions divided by 4; local layers: base 10; layers 0, 1, 3 local, 2 global
    "gemma3": dict(COMMON, layer_types=["sliding_attention", "sliding_attention", "full_attention",
                                        "sliding_attention"],
                   rope_parameters={"full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 100.0},
                                    "sliding_attention": {"rope_type": "default", "rope_theta": 10.0}}),
}

# (block, site, seed, norm) of the vectors added in the steered forward
STEERING = [(0, "pre", 11, 3.0), (1, "mid", 12, 3.0), (2, "post", 13, 3.0)]


def log(msg: str) -> None:
    print(f"[make_gemma_tiny_random] {msg}", file=sys.stderr, flush=True)


def r(x, nd: int = 6) -> float:
    return float(round(float(x), nd))


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Every parameter from one seeded generator: matrices N(0, 0.4), norm weights N(0, 0.5) (so 1 + w varies)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            std = 0.5 if "norm" in name else 0.4
            p.copy_(torch.randn(p.shape, generator=g) * std)


def vector(seed: int, d: int, norm: float) -> torch.Tensor:
    v = torch.randn(d, generator=torch.Generator().manual_seed(seed))
    return v * (norm / v.norm())


def steering_hooks(model, vectors):
    """Adds each vector to the residual stream at its site (TransformerLens names) for every position."""
    handles = []
    for (block, site, _, _), v in zip(STEERING, vectors):
        layer = model.model.layers[block]
        if site == "pre":
            handles.append(layer.register_forward_pre_hook(
                lambda mod, args, kwargs, v=v: ((args[0] + v,) + args[1:], kwargs) if args
                else (args, {**kwargs, "hidden_states": kwargs["hidden_states"] + v}), with_kwargs=True))
        elif site == "mid":
            # the normed attention output is what joins the residual, so adding there moves resid_mid by v
            handles.append(layer.post_attention_layernorm.register_forward_hook(lambda mod, i, out, v=v: out + v))
        else:
            handles.append(layer.register_forward_hook(
                lambda mod, i, out, v=v: (out[0] + v,) + tuple(out[1:]) if isinstance(out, tuple) else out + v))
    return handles


@torch.inference_mode()
def reference(model, ids: list[int]) -> dict:
    n_layers = model.config.num_hidden_layers
    d = model.config.hidden_size
    full = model(input_ids=torch.tensor([ids]), use_cache=False, output_hidden_states=True)
    mids = {}
    hooks = [layer.pre_feedforward_layernorm.register_forward_pre_hook(
        lambda mod, args, i=i: mids.__setitem__(i, args[0][0, -1].clone()))
        for i, layer in enumerate(model.model.layers)]
    posts = {}
    hooks += [layer.register_forward_hook(
        lambda mod, i_, out, i=i: posts.__setitem__(i, (out[0] if isinstance(out, tuple) else out)[0, -1].clone()))
        for i, layer in enumerate(model.model.layers)]
    try:
        model(input_ids=torch.tensor([ids]), use_cache=False)
    finally:
        for h in hooks:
            h.remove()

    prompt = ids[:PROMPT_LEN]
    out = model(input_ids=torch.tensor([prompt]), use_cache=True)
    past, logits = out.past_key_values, out.logits[0, -1]
    gen, step_logits = [], []
    for _ in range(GREEDY_STEPS):
        step_logits.append([r(v) for v in logits])
        gen.append(int(logits.argmax()))
        out = model(input_ids=torch.tensor([[gen[-1]]]), past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[0, -1]

    vectors = [vector(seed, d, norm) for _, _, seed, norm in STEERING]
    handles = steering_hooks(model, vectors)
    try:
        steered = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1]
    finally:
        for h in handles:
            h.remove()
    plain_last = full.logits[0, -1]
    return {
        "input_ids": ids,
        "logits": [[r(v) for v in row] for row in full.logits[0]],
        "greedy": {"prompt_ids": prompt, "ids": gen, "step_logits": step_logits},
        "residuals": {
            "position": len(ids) - 1,
            "resid_pre_0": [r(v) for v in full.hidden_states[0][0, -1]],
            "resid_mid": [[r(v) for v in mids[i]] for i in range(n_layers)],
            "resid_post": [[r(v) for v in posts[i]] for i in range(n_layers)],
        },
        "steered": {
            "interventions": [{"hook": f"blocks.{b}.hook_resid_{s}", "vector": [r(x, 7) for x in v], "scale": 1.0}
                              for (b, s, _, _), v in zip(STEERING, vectors)],
            "last_logits": [r(v) for v in steered],
            "max_abs_change": r((steered - plain_last).abs().max()),
        },
    }


def word_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    vocab.update({f"w{i}": i for i in range(4, VOCAB)})
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(path))


def main() -> None:
    import transformers
    from transformers import Gemma2Config, Gemma2ForCausalLM, Gemma3TextConfig, Gemma3ForCausalLM

    for seed, (arch, kwargs) in enumerate(MODELS.items(), start=1):
        out = OUT_ROOT / f"{arch}-tiny-random"
        if out.exists():
            shutil.rmtree(out)
        torch.manual_seed(seed)
        if arch == "gemma2":
            model = Gemma2ForCausalLM(Gemma2Config(**kwargs))
        else:
            model = Gemma3ForCausalLM(Gemma3TextConfig(**kwargs))
        model.config._attn_implementation = "eager"
        randomize(model, seed)
        model.eval()
        model.save_pretrained(str(out), safe_serialization=True)
        gen_cfg = out / "generation_config.json"
        if gen_cfg.exists():
            gen_cfg.unlink()
        word_tokenizer(out / "tokenizer.json")
        (out / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": True, "bos_token": "<bos>",
                                                               "eos_token": "<eos>"}, indent=2) + "\n")
        g = torch.Generator().manual_seed(100 + seed)
        ids = [2] + torch.randint(4, VOCAB, (SEQ_LEN - 1,), generator=g).tolist()
        ref = reference(model, ids)
        doc = {
            "description": (f"Reference outputs of a random-weight {arch} model (this directory) computed by "
                            f"transformers {transformers.__version__} (float32, eager, CPU). Generated by "
                            "scripts/reference/make_gemma_tiny_random.py; do not edit by hand."),
            "architecture": arch,
            "config": {k: v for k, v in kwargs.items()},
            **ref,
        }
        (out / "reference.json").write_text(json.dumps(doc) + "\n")
        size = sum(p.stat().st_size for p in out.iterdir())
        log(f"wrote {out.relative_to(REPO)} ({size} bytes); steering moves the last logits by up to "
            f"{ref['steered']['max_abs_change']}; greedy {ref['greedy']['ids']}")


if __name__ == "__main__":
    main()
