#!/usr/bin/env python3
"""Writes the SmolLM2-135M-Instruct (Q4_1 GGUF) reference fixture used to check the Java forward pass and tokenizer.

Reference = Hugging Face transformers loading the GGUF (dequantized to float32), eager attention, CPU.
Not part of the Java build. Set up the Python environment first:

    scripts/reference/setup-venv.sh                    # prints the venv path (default /tmp/steering-ref-venv)
    /tmp/steering-ref-venv/bin/python scripts/reference/make_smollm2_reference.py

Options: --gguf PATH (default: whatever `scripts/fetch-model.sh smollm2-135m-instruct` prints),
         --out PATH (default: model-service/src/test/resources/reference/smollm2-135m-instruct-q4_1.json).

Conventions recorded in the fixture (see its "conventions" block):
  * tokenization: tokenizer(text) with default special-token handling (add_special_tokens=True). This GGUF has
    tokenizer.ggml.add_bos_token = False, so no BOS is prepended; special tokens written in the text
    (e.g. "<|im_start|>") ARE parsed as single special tokens.
  * hidden_states[0] is the embedding output, hidden_states[i] (1..29) the output of decoder block i-1 (resid_post),
    and hidden_states[30] is the output of the FINAL RMSNorm (transformers replaces the last block's raw output with
    the normed one); the raw output of block 29 is in "block_output_norms"[29].
  * greedy continuation: plain argmax for exactly 20 steps with a KV cache, no EOS stopping (so it may run past
    <|im_end|>); "first_eos_index" tells where the first <|im_end|> (id 2) appears.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "model-service/src/test/resources/reference/smollm2-135m-instruct-q4_1.json"

PROMPTS = [
    {"name": "capital", "text": "The capital of France is"},
    {"name": "story", "text": "Once upon a time, there was a little"},
    {"name": "code", "text": "def fibonacci(n):"},
    {"name": "chat_capital", "chat": [{"role": "user", "content": "What is the capital of France?"}]},
]

# Fixed token ids whose last-position logits are recorded for every prompt: specials, frequent tokens, answer
# candidates (" Paris" 7042, " London" 4528, " Lyon" 38034, "Paris" 38634) and ids spread over the vocabulary.
FIXED_IDS = [0, 1, 2, 28, 30, 198, 253, 260, 585, 4528, 5406, 7042, 7706, 8180, 38034, 38634, 1000, 20000, 40000,
             49151]

TOKENIZER_CASES = [
    " hello world",
    "12345",
    "naïve café 😀",
    "<|im_start|>user\nHi<|im_end|>",
    "Hello world",
    "In 2024, π≈3.14159!",
    "  two  spaces\n\n\ttab",
    "I'm here; it's fine—isn't it?",
]

GREEDY_STEPS = 20
TOP_K = 20
TOP_K_FALLBACK = 50


def log(msg: str) -> None:
    print(f"[make_smollm2_reference] {msg}", file=sys.stderr, flush=True)


def fetch_model_path() -> Path:
    out = subprocess.run(["bash", str(REPO / "scripts/fetch-model.sh"), "smollm2-135m-instruct"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def r(x: float, nd: int = 5) -> float:
    return float(round(float(x), nd))


def topk(logits: torch.Tensor, k: int) -> tuple[list[int], list[float]]:
    v, i = torch.topk(logits, k)
    return [int(t) for t in i], [r(t) for t in v]


# ---------------------------------------------------------------- JSON writer: indented, numeric lists on one line
def to_json(obj, indent: int = 0) -> str:
    import json
    pad, pad1 = "  " * indent, "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad1}{json.dumps(k)}: {to_json(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ",".join(json.dumps(v, ensure_ascii=False) for v in obj) + "]"
        return "[\n" + ",\n".join(pad1 + to_json(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


# ---------------------------------------------------------------- GGUF-level checks (dequantization, q/k layout)
def gguf_checks(gguf_path: Path, model) -> dict:
    """Dequantized samples in raw GGUF layout + proof of what transformers did to the weights."""
    import gguf
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(str(gguf_path))
    tensors = {t.name: t for t in reader.tensors}

    def deq(name: str) -> np.ndarray:
        t = tensors[name]
        # rows = ne[1], row length = ne[0] (ggml order); returned as [ne1, ne0]
        return dequantize(t.data, t.tensor_type).reshape(int(t.shape[1]), int(t.shape[0])).astype(np.float32)

    cfg = model.config
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads

    def reverse_permute(w: np.ndarray, heads: int) -> np.ndarray:
        d = w.shape[0] // heads // 2
        return w.reshape(heads, d, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)

    sd = model.state_dict()
    emb = deq("token_embd.weight")
    q0 = deq("blk.0.attn_q.weight")
    k0 = deq("blk.0.attn_k.weight")
    down0 = deq("blk.0.ffn_down.weight")
    hf_q0 = sd["model.layers.0.self_attn.q_proj.weight"].numpy()
    hf_k0 = sd["model.layers.0.self_attn.k_proj.weight"].numpy()

    checks = {
        "embedding_equals_gguf_token_embd": bool(np.array_equal(sd["model.embed_tokens.weight"].numpy(), emb)),
        "lm_head_tied_to_embedding": bool(np.array_equal(sd["lm_head.weight"].numpy(), emb)),
        "q_proj_equals_raw_gguf_attn_q": bool(np.array_equal(hf_q0, q0)),
        "q_proj_equals_unpermuted_gguf_attn_q": bool(np.array_equal(hf_q0, reverse_permute(q0, n_head))),
        "k_proj_equals_unpermuted_gguf_attn_k": bool(np.array_equal(hf_k0, reverse_permute(k0, n_kv))),
        "down_proj_equals_raw_gguf_ffn_down": bool(np.array_equal(
            sd["model.layers.0.mlp.down_proj.weight"].numpy(), down0)),
    }

    def sample(name: str, mat: np.ndarray, rows: list[int]) -> dict:
        t = tensors[name]
        return {
            "tensor": name,
            "ggml_type": t.tensor_type.name,
            "ggml_shape_ne": [int(x) for x in t.shape],
            "rows": {str(i): {"first8": [r(v, 6) for v in mat[i, :8]], "sum": r(mat[i].astype(np.float64).sum(), 4),
                              "l2": r(np.linalg.norm(mat[i].astype(np.float64)), 5)} for i in rows},
        }

    return {
        "note": ("Dequantized values in RAW GGUF layout: row i = i-th slice along ne[1], each row has ne[0] values. "
                 "transformers un-permutes attn_q/attn_k rows (llama.cpp stores them permuted for its interleaved "
                 "RoPE; HF uses the rotate_half RoPE): hf_row = reshape(heads, hd/2, 2, ...).swapaxes(1, 2). "
                 "A forward that keeps the GGUF layout must rotate ADJACENT pairs (2i, 2i+1) like llama.cpp; one "
                 "that un-permutes must rotate (i, i+hd/2) like HF."),
        "checks": checks,
        "samples": [
            sample("token_embd.weight", emb, [0, 1, 7042]),
            sample("blk.0.attn_q.weight", q0, [0, 1, 575]),
            sample("blk.0.attn_k.weight", k0, [0, 191]),
            sample("blk.0.ffn_down.weight", down0, [0, 575]),
        ],
        "rms_norm_weights": {
            "blk.0.attn_norm.weight_first8": [r(v, 6) for v in sd["model.layers.0.input_layernorm.weight"][:8]],
            "output_norm.weight_first8": [r(v, 6) for v in sd["model.norm.weight"][:8]],
        },
    }


# ---------------------------------------------------------------- model runs
@torch.inference_mode()
def greedy(model, ids: list[int], steps: int, eos_id: int) -> dict:
    out = model(input_ids=torch.tensor([ids]), use_cache=True)
    past, logits = out.past_key_values, out.logits[0, -1]
    gen, top1, margin = [], [], []
    for _ in range(steps):
        v, i = torch.topk(logits, 2)
        nxt = int(i[0])
        gen.append(nxt)
        top1.append(r(v[0], 4))
        margin.append(r(v[0] - v[1], 4))
        out = model(input_ids=torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[0, -1]
    # cross-check without a KV cache (full recompute of the last step's sequence)
    seq = torch.tensor([ids + gen])
    full = model(input_ids=seq, use_cache=False).logits[0, len(ids) - 1:-1].argmax(-1).tolist()
    first_eos = gen.index(eos_id) if eos_id in gen else None
    return {"ids": gen, "top1_logits": top1, "top1_margins": margin, "first_eos_index": first_eos,
            "no_cache_argmax_agrees": full == gen}


@torch.inference_mode()
def layer_debug(model, ids: list[int]) -> dict:
    block_out = {}
    hooks = [layer.register_forward_hook(
        lambda mod, inp, out, i=i: block_out.__setitem__(i, (out[0] if isinstance(out, tuple) else out)[0, -1].clone()))
        for i, layer in enumerate(model.model.layers)]
    try:
        out = model(input_ids=torch.tensor([ids]), output_hidden_states=True, use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    hs = [h[0, -1] for h in out.hidden_states]
    n_layers = len(model.model.layers)
    # hidden_states[i] for 1..n-1 must be block i-1's output; the last is the final-normed one
    consistent = all(torch.equal(hs[i], block_out[i - 1]) for i in range(1, n_layers))
    return {
        "position": len(ids) - 1,
        "hidden_state_norms": [r(h.norm(), 5) for h in hs],
        "hidden_states_first8": [[r(v, 5) for v in h[:8]] for h in hs],
        "block_output_norms": [r(block_out[i].norm(), 5) for i in range(n_layers)],
        "hidden_states_1_to_29_are_block_outputs": bool(consistent),
        "hidden_states_last_is_final_norm_output": bool(
            torch.allclose(hs[-1], model.model.norm(block_out[n_layers - 1][None])[0])),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, help="GGUF file (default: path printed by scripts/fetch-model.sh)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--max-bytes", type=int, default=1_500_000,
                    help="full last-position logits are included per prompt only while the file stays under this")
    args = ap.parse_args()

    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = (args.gguf or fetch_model_path()).resolve()
    log(f"model {gguf_path.name}")
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    cfg = model.config
    eos_id = int(cfg.eos_token_id)

    import gguf as gguf_pkg
    from importlib.metadata import version

    fixture: dict = {
        "description": ("Reference outputs of SmolLM2-135M-Instruct (Q4_1 GGUF) computed by Hugging Face "
                        "transformers: GGUF dequantized to float32, eager attention, CPU. Generated by "
                        "scripts/reference/make_smollm2_reference.py; do not edit by hand."),
        "model": {
            "gguf_file": gguf_path.name,
            "gguf_sha256": sha256(gguf_path),
            "fetch": "scripts/fetch-model.sh smollm2-135m-instruct",
            "vocab_size": int(cfg.vocab_size),
            "hidden_size": int(cfg.hidden_size),
            "num_hidden_layers": int(cfg.num_hidden_layers),
            "num_attention_heads": int(cfg.num_attention_heads),
            "num_key_value_heads": int(cfg.num_key_value_heads),
            "head_dim": int(getattr(cfg, "head_dim", cfg.hidden_size // cfg.num_attention_heads)),
            "intermediate_size": int(cfg.intermediate_size),
            "rms_norm_eps": float(cfg.rms_norm_eps),
            "rope_theta": float((getattr(cfg, "rope_parameters", None) or {}).get("rope_theta",
                                                                                   getattr(cfg, "rope_theta", 0.0))),
            "tie_word_embeddings": bool(cfg.tie_word_embeddings),
            "bos_token_id": int(cfg.bos_token_id), "eos_token_id": eos_id, "pad_token_id": int(cfg.pad_token_id),
        },
        "environment": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": version("tokenizers"),
            "gguf": gguf_pkg.__version__ if hasattr(gguf_pkg, "__version__") else version("gguf"),
            "numpy": np.__version__,
            "dtype": "float32",
            "attn_implementation": "eager",
            "device": "cpu",
        },
        "conventions": {
            "tokenization": "tokenizer(text) with add_special_tokens=True (default); special tokens in text are parsed",
            "gguf_add_bos_token": None,
            "bos_added": None,
            "tokenizer_bos_token": tok.bos_token,
            "tokenizer_eos_token": tok.eos_token,
            "pretokenizer": "ByteLevel(add_prefix_space=False, GPT-2 regex) -- transformers' GGUF converter; the "
                            "GGUF says tokenizer.ggml.pre='smollm' (digits split individually), which gives the same "
                            "ids here because the vocabulary has no multi-digit or space+digit tokens",
            "hidden_states": "hidden_states[0]=embeddings, [i]=output of block i-1 (i=1..29), [30]=final RMSNorm "
                             "output (NOT block 29's raw output; that is block_output_norms[29])",
            "greedy": f"argmax for exactly {GREEDY_STEPS} steps with KV cache, no EOS stopping; top1_margins is the "
                      "top1-top2 logit gap per step: where it is small (< ~0.1) a faithful float32 forward that "
                      "rounds differently may legitimately pick the runner-up, so compare up to such a step",
            "rounding": "logit values rounded to 5 decimals (full_logits: 4 decimals), norms to 5 decimals",
        },
        "fixed_token_ids": FIXED_IDS,
    }

    # GGUF metadata on BOS
    import gguf
    reader = gguf.GGUFReader(str(gguf_path))
    field = reader.fields.get("tokenizer.ggml.add_bos_token")
    fixture["conventions"]["gguf_add_bos_token"] = bool(field.contents()) if field is not None else None

    log("checking dequantization / q,k layout against the raw GGUF")
    fixture["gguf_checks"] = gguf_checks(gguf_path, model)

    prompts_out, full_logits = [], []
    bos_added_all = []
    for p in PROMPTS:
        if "chat" in p:
            text = tok.apply_chat_template(p["chat"], tokenize=False, add_generation_prompt=True)
            templ = tok.apply_chat_template(p["chat"], tokenize=True, add_generation_prompt=True)
            templ_ids = templ["input_ids"] if isinstance(templ, dict) or hasattr(templ, "keys") else templ
        else:
            text, templ_ids = p["text"], None
        ids = tok(text)["input_ids"]
        bos_added = bool(tok.bos_token_id is not None and ids and ids[0] == tok.bos_token_id
                         and not text.startswith(tok.bos_token))
        bos_added_all.append(bos_added)
        log(f"prompt {p['name']}: {len(ids)} tokens")
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1].float()
        top_ids, top_vals = topk(logits, TOP_K)
        g = greedy(model, ids, GREEDY_STEPS, eos_id)
        entry = {
            "name": p["name"],
            "prompt": text,
        }
        if "chat" in p:
            entry["chat_messages"] = p["chat"]
            entry["chat_template"] = "tokenizer.chat_template from the GGUF, add_generation_prompt=True"
            entry["apply_chat_template_ids_match"] = list(templ_ids) == ids
        entry.update({
            "input_ids": ids,
            "input_tokens": tok.convert_ids_to_tokens(ids),
            "bos_added": bos_added,
            "last_position": len(ids) - 1,
            "top20": {"ids": top_ids, "logits": top_vals, "tokens": tok.convert_ids_to_tokens(top_ids)},
            "logsumexp": r(torch.logsumexp(logits.double(), 0), 5),
            "fixed_id_logits": [r(logits[i]) for i in FIXED_IDS],
            "greedy": {**g, "text": tok.decode(g["ids"]),
                       "text_until_eos": tok.decode(g["ids"][:g["first_eos_index"]]
                                                    if g["first_eos_index"] is not None else g["ids"])},
        })
        prompts_out.append(entry)
        full_logits.append([round(float(v), 4) for v in logits])
        log(f"  top1 {top_ids[0]} {tok.convert_ids_to_tokens(top_ids[0])!r}; greedy: {entry['greedy']['text']!r}")

    fixture["conventions"]["bos_added"] = any(bos_added_all)

    log("layer-by-layer debug for the first prompt")
    fixture["layer_debug"] = {"prompt": prompts_out[0]["name"], **layer_debug(model, prompts_out[0]["input_ids"])}

    log("tokenizer cases")
    cases = []
    for s in TOKENIZER_CASES:
        ids = tok(s)["input_ids"]
        cases.append({"text": s, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids),
                      "decoded": tok.decode(ids), "round_trips": tok.decode(ids) == s})
    fixture["tokenizer_cases"] = cases
    fixture["prompts"] = prompts_out

    # full logits only while the file stays under max-bytes; otherwise top-50 (+ logsumexp, always present)
    text = to_json(fixture)
    for entry, fl in zip(prompts_out, full_logits):
        entry["full_logits"] = fl
        candidate = to_json(fixture)
        if len(candidate.encode()) > args.max_bytes:
            del entry["full_logits"]
            break
        text = candidate
    for entry, fl in zip(prompts_out, full_logits):
        if "full_logits" not in entry:
            t = torch.tensor(fl)
            ids50, vals50 = topk(t, TOP_K_FALLBACK)
            entry["top50"] = {"ids": ids50, "logits": vals50}
    fixture["conventions"]["full_logits_note"] = (
        f"present for {sum('full_logits' in e for e in prompts_out)} of {len(prompts_out)} prompts "
        f"(file kept under {args.max_bytes} bytes); the others have top50 instead")
    text = to_json(fixture) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out} "
        f"({len(text.encode())} bytes)")


if __name__ == "__main__":
    main()
