#!/usr/bin/env python3
"""Writes the Gemma 3 270M (Q4_K_M GGUF) reference fixture that checks the Java forward pass, tokenizer and chat
template against Hugging Face transformers.

Reference = transformers loading the GGUF (dequantized to float32), eager attention, CPU. Not part of the Java build:

    venv=$(scripts/reference/setup-venv.sh)
    $venv/bin/python scripts/reference/make_gemma3_reference.py

Options: --gguf PATH (default: what `scripts/fetch-model.sh gemma3-270m` prints),
         --out PATH (default: model-service/src/test/resources/reference/gemma3-270m-q4_k_m.json).

What the fixture records (see its "conventions" block):
  * tokenization: tokenizer(text) with add_special_tokens=True, i.e. <bos> prepended (the GGUF says
    tokenizer.ggml.add_bos_token = true); special tokens written in the text are parsed.
  * logits of the last prompt position: the top 100, every 64th vocabulary id (a 4096-value sample of the 262144),
    and the logsumexp over all of them. The full rows would be 2 MB per prompt.
  * greedy: argmax for exactly 20 steps with a KV cache, no EOS stopping.
  * one prompt is longer than the 512-token sliding window, so local layers must mask old positions, in the
    prefill and in every cached decode step.
  * the chat prompt: this GGUF carries no tokenizer.chat_template, so the prompt is rendered with GEMMA_TEMPLATE
    below, which writes Gemma's published turn format. The packaged checkpoint is the pre-trained (not
    instruction-tuned) model, which does not answer a bare question in a chat turn (it repeats the question);
    with one earlier question-and-answer turn in the conversation it answers.
  * residual stream at the last position of the first prompt: hidden_states[0] is resid_pre of block 0,
    hidden_states[i] (1..n-1) is resid_post of block i-1 (the last entry is the final norm's output and is not
    recorded); resid_mid of block i is the input of its pre_feedforward_layernorm.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "model-service/src/test/resources/reference/gemma3-270m-q4_k_m.json"

# Gemma's turn format: <bos>, then per message "<start_of_turn>{user|model}\n{content, trimmed}<end_of_turn>\n", a
# system message's text prefixed to the first user turn, and "<start_of_turn>model\n" as the generation prompt.
GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% set prefix = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set prefix = '' %}{% set turns = messages %}{% endif %}"
    "{% for m in turns %}"
    "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else m['role']) + '\n' }}"
    "{{ (prefix if loop.first else '') + (m['content'] | trim) + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

LONG_TEXT = (
    "The history of the city stretches back more than two thousand years, from a small settlement on the river to a "
    "crowded capital of trade, learning and art. Merchants came from distant lands, scholars wrote books that were "
    "copied by hand, and builders raised bridges, towers and churches that still stand today. "
)

PROMPTS = [
    {"name": "capital", "text": "The capital of France is"},
    {"name": "story", "text": "Once upon a time, there was a little"},
    {"name": "code", "text": "def fibonacci(n):"},
    {"name": "past_window", "long": True},
    {"name": "chat_capital", "chat": [
        {"role": "user", "content": "What is the capital of Germany?"},
        {"role": "assistant", "content": "The capital of Germany is Berlin."},
        {"role": "user", "content": "What is the capital of France?"},
    ]},
]
LONG_MIN_TOKENS = 560  # past the 512-token window, so the 20 greedy steps run with old positions masked

TOKENIZER_CASES = [
    "Hello world",
    " hello  world",
    "12345",
    "naïve café 😀",
    "<start_of_turn>user\nHi<end_of_turn>",
    "In 2024, π≈3.14159!",
    "  two  spaces\n\n\ttab\t\t",
    "I'm here; it's fine—isn't it?",
    "日本語のテキスト",
    "\u0007bell \U0001d518\U0001d52b",  # a control character and rare symbols: byte fallback
    "trailing spaces   ",
]

GREEDY_STEPS = 20
TOP_K = 100
STRIDE = 64


def log(msg: str) -> None:
    print(f"[make_gemma3_reference] {msg}", file=sys.stderr, flush=True)


def fetch_model_path() -> Path:
    out = subprocess.run(["bash", str(REPO / "scripts/fetch-model.sh"), "gemma3-270m"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def r(x, nd: int = 4) -> float:
    return float(round(float(x), nd))


def to_json(obj, indent: int = 0) -> str:
    """Indented JSON with lists of numbers or strings on one line, so the fixture stays readable and small."""
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


@torch.inference_mode()
def greedy(model, ids: list[int], steps: int) -> dict:
    out = model(input_ids=torch.tensor([ids]), use_cache=True)
    past, logits = out.past_key_values, out.logits[0, -1]
    gen, margins = [], []
    for _ in range(steps):
        v, i = torch.topk(logits, 2)
        gen.append(int(i[0]))
        margins.append(r(v[0] - v[1]))
        out = model(input_ids=torch.tensor([[gen[-1]]]), past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[0, -1]
    # the same tokens from one forward over the whole sequence, without a cache
    full = model(input_ids=torch.tensor([ids + gen]), use_cache=False).logits[0, len(ids) - 1:-1].argmax(-1).tolist()
    return {"ids": gen, "top1_margins": margins, "no_cache_argmax_agrees": full == gen}


@torch.inference_mode()
def residuals(model, ids: list[int]) -> dict:
    mids = {}
    hooks = [layer.pre_feedforward_layernorm.register_forward_pre_hook(
        lambda mod, args, i=i: mids.__setitem__(i, args[0][0, -1].clone()))
        for i, layer in enumerate(model.model.layers)]
    try:
        out = model(input_ids=torch.tensor([ids]), output_hidden_states=True, use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    n = len(model.model.layers)
    hs = [h[0, -1] for h in out.hidden_states]
    return {
        "position": len(ids) - 1,
        "resid_pre_0_norm": r(hs[0].norm()),
        "resid_pre_0_first8": [r(v, 5) for v in hs[0][:8]],
        "resid_mid_norms": [r(mids[i].norm()) for i in range(n)],
        "resid_post_norms": [r(hs[i + 1].norm()) for i in range(n - 1)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, help="GGUF file (default: path printed by scripts/fetch-model.sh gemma3-270m)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    import gguf
    import transformers
    from importlib.metadata import version
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = (args.gguf or fetch_model_path()).resolve()
    log(f"model {gguf_path.name}")
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    cfg = model.config
    reader = gguf.GGUFReader(str(gguf_path))
    has_template = "tokenizer.chat_template" in reader.fields
    tok.chat_template = GEMMA_TEMPLATE

    fixture: dict = {
        "description": ("Reference outputs of Gemma 3 270M (Q4_K_M GGUF) computed by Hugging Face transformers: GGUF "
                        "dequantized to float32, eager attention, CPU. Generated by "
                        "scripts/reference/make_gemma3_reference.py; do not edit by hand."),
        "model": {
            "gguf_file": gguf_path.name,
            "gguf_sha256": sha256(gguf_path),
            "fetch": "scripts/fetch-model.sh gemma3-270m",
            "vocab_size": int(cfg.vocab_size),
            "hidden_size": int(cfg.hidden_size),
            "num_hidden_layers": int(cfg.num_hidden_layers),
            "num_attention_heads": int(cfg.num_attention_heads),
            "num_key_value_heads": int(cfg.num_key_value_heads),
            "head_dim": int(cfg.head_dim),
            "intermediate_size": int(cfg.intermediate_size),
            "rms_norm_eps": float(cfg.rms_norm_eps),
            "sliding_window": int(cfg.sliding_window),
            "layer_types": list(cfg.layer_types),
            "rope_parameters": cfg.rope_parameters,
            "query_pre_attn_scalar": cfg.query_pre_attn_scalar,
            "attn_logit_softcapping": cfg.attn_logit_softcapping,
            "final_logit_softcapping": cfg.final_logit_softcapping,
            "bos_token_id": int(cfg.bos_token_id),
            "eos_token_id": cfg.eos_token_id,
            "gguf_has_chat_template": has_template,
        },
        "environment": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": version("tokenizers"),
            "gguf": version("gguf"),
            "dtype": "float32",
            "attn_implementation": "eager",
            "device": "cpu",
        },
        "conventions": {
            "tokenization": "tokenizer(text), add_special_tokens=True: <bos> prepended; special tokens in text parsed",
            "logits": f"last prompt position: top {TOP_K}; sampled = logits[::{STRIDE}] (ids 0, {STRIDE}, ...); "
                      "logsumexp over the whole vocabulary; values rounded to 4 decimals",
            "greedy": f"argmax for exactly {GREEDY_STEPS} steps with a KV cache, no EOS stopping; top1_margins is "
                      "the gap between the two best logits at each step",
            "chat": "rendered with GEMMA_TEMPLATE of the script (the GGUF has no chat template), "
                    "add_generation_prompt=True, then tokenized with add_special_tokens=False (the text has <bos>)",
            "residuals": "last position of the first prompt; see the script's docstring",
        },
        "chat_template": GEMMA_TEMPLATE,
    }

    long_text = LONG_TEXT
    while len(tok(long_text)["input_ids"]) < LONG_MIN_TOKENS:
        long_text += LONG_TEXT

    prompts_out = []
    for p in PROMPTS:
        entry = {"name": p["name"]}
        if "chat" in p:
            text = tok.apply_chat_template(p["chat"], tokenize=False, add_generation_prompt=True)
            ids = tok(text, add_special_tokens=False)["input_ids"]
            templ = tok.apply_chat_template(p["chat"], tokenize=True, add_generation_prompt=True)
            templ_ids = templ["input_ids"] if hasattr(templ, "keys") else templ
            entry["chat_messages"] = p["chat"]
            entry["apply_chat_template_ids_match"] = list(templ_ids) == ids
        else:
            text = long_text if p.get("long") else p["text"]
            ids = tok(text)["input_ids"]
        log(f"prompt {p['name']}: {len(ids)} tokens")
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1].float()
        v, i = torch.topk(logits, TOP_K)
        g = greedy(model, ids, GREEDY_STEPS)
        entry.update({
            "prompt": text,
            "input_ids": ids,
            "top": {"ids": [int(t) for t in i], "logits": [r(t) for t in v]},
            "logsumexp": r(torch.logsumexp(logits.double(), 0), 5),
            "sampled_logits": [r(t) for t in logits[::STRIDE]],
            "greedy": {**g, "text": tok.decode(g["ids"])},
        })
        log(f"  greedy: {entry['greedy']['text']!r} (cache/no-cache agree: {g['no_cache_argmax_agrees']})")
        prompts_out.append(entry)

    log("residual stream of the first prompt")
    fixture["residuals"] = {"prompt": prompts_out[0]["name"], **residuals(model, prompts_out[0]["input_ids"])}

    cases = []
    for s in TOKENIZER_CASES:
        ids = tok(s)["input_ids"]
        cases.append({"text": s, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids),
                      "decoded": tok.decode(ids, skip_special_tokens=True)})
    fixture["tokenizer_cases"] = cases
    fixture["prompts"] = prompts_out

    text = to_json(fixture) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out} ({len(text.encode())} bytes)")


if __name__ == "__main__":
    main()
