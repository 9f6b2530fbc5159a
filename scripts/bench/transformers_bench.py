#!/usr/bin/env python3
"""Reference peer for the model-service benchmark: SmolLM2-135M-Instruct (Q4_1 GGUF; or another GGUF with --gguf,
e.g. Gemma 3 270M) through Hugging Face transformers, PyTorch eager, float32 (the GGUF is dequantized on load), CPU,
default torch thread count.

Measures, in one process:
  * greedy decode throughput with a KV cache: model.generate(do_sample=False, min_new_tokens=max_new_tokens=N)
    from the prompt "I think", for each batch size (batch > 1: copies of the prompt, or with --distinct-prompts
    different left-padded prompts), unsteered and steered;
  * prefill throughput: one forward over a P-token prompt (batch 1, logits only for the last position);
  * the process's peak RSS.

Steering = a forward hook on model.model.layers[n_layers // 2] (15 for SmolLM2, 9 for Gemma 3 270M: the block
model-service's DecodeBenchmark steers) that adds a fixed random vector (torch.Generator seed 0, torch.randn(d_model)
scaled to L2 norm 4.0) to the block's output hidden states at ALL positions (its resid_post), during prefill and
every decode step.

Setup and run (not part of the Java build):

    scripts/reference/setup-venv.sh          # prints the venv path (default /tmp/steering-ref-venv)
    /tmp/steering-ref-venv/bin/python scripts/bench/transformers_bench.py --json /tmp/transformers-bench.json

Progress goes to stderr, the table to stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STEER_NORM = 4.0
STEER_SEED = 0
PROMPT = "I think"
DISTINCT_PROMPTS = [
    "I think", "The weather today is", "My favourite food", "In the beginning", "Scientists have discovered that",
    "Here is a recipe for", "Yesterday I", "The most important thing about programming is",
]
PREFILL_TEXT = (
    "The history of the city stretches back more than two thousand years, from a small settlement on the river to a "
    "crowded capital of trade, learning and art. Merchants came from distant lands, scholars wrote books that were "
    "copied by hand, and builders raised bridges, towers and churches that still stand today. "
)


def log(msg: str) -> None:
    print(f"[transformers_bench] {msg}", file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # ru_maxrss is KiB on Linux


def current_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def fmt_load(avg) -> str:
    return "/".join(f"{x:.2f}" for x in avg)


def fetch_model_path() -> Path:
    out = subprocess.run(["bash", str(REPO / "scripts/fetch-model.sh"), "smollm2-135m-instruct"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


class Steering:
    """Adds `vector` to the output of one decoder block while enabled."""

    def __init__(self, block: torch.nn.Module, vector: torch.Tensor):
        self.vector = vector
        self.handle = None
        self.block = block

    def _hook(self, module, inputs, output):
        if isinstance(output, tuple):
            return (output[0] + self.vector,) + tuple(output[1:])
        return output + self.vector

    def __enter__(self):
        self.handle = self.block.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()
        self.handle = None


class NoSteering:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def make_batch(tok, batch: int, distinct: bool) -> dict:
    if distinct and batch > 1:
        texts = [DISTINCT_PROMPTS[i % len(DISTINCT_PROMPTS)] for i in range(batch)]
    else:
        texts = [PROMPT] * batch
    tok.padding_side = "left"
    enc = tok(texts, return_tensors="pt", padding=True)
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def time_generate(model, inputs: dict, n: int, pad_id: int) -> tuple[float, float, torch.Tensor]:
    c0, t0 = time.process_time(), time.perf_counter()
    out = model.generate(**inputs, do_sample=False, min_new_tokens=n, max_new_tokens=n, pad_token_id=pad_id)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    new = out.shape[1] - inputs["input_ids"].shape[1]
    if new != n:
        raise RuntimeError(f"generate produced {new} tokens, expected {n}")
    return dt, cpu, out


def summarize(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=64, help="new tokens per sequence (default 64)")
    ap.add_argument("--batch-sizes", default="1,8", help="comma-separated batch sizes (default 1,8)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions per configuration (default 3)")
    ap.add_argument("--prefill-tokens", type=int, default=256, help="prefill prompt length (default 256)")
    ap.add_argument("--distinct-prompts", action="store_true",
                    help="batch > 1 uses different left-padded prompts instead of copies of 'I think'")
    ap.add_argument("--gguf", type=Path, help="GGUF file (default: path printed by scripts/fetch-model.sh)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]

    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    threads = torch.get_num_threads()
    load_start = os.getloadavg()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"torch.get_num_threads() = {threads} (default, not changed), interop threads = "
          f"{torch.get_num_interop_threads()}, cpus = {os.cpu_count()}", flush=True)

    gguf_path = (args.gguf or fetch_model_path()).resolve()
    log(f"loading {gguf_path.name} (dequantizing to float32)")
    rss_before = current_rss_mib()
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    load_s = time.perf_counter() - t0
    rss_loaded = current_rss_mib()
    log(f"loaded in {load_s:.1f}s, RSS {rss_loaded:.0f} MiB")
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else model.config.eos_token_id

    hidden = model.config.hidden_size
    g = torch.Generator().manual_seed(STEER_SEED)
    vec = torch.randn(hidden, generator=g, dtype=torch.float32)
    vec = vec * (STEER_NORM / vec.norm())
    steer_layer = len(model.model.layers) // 2
    block = model.model.layers[steer_layer]
    modes = {"unsteered": NoSteering, "steered": lambda: Steering(block, vec)}

    results = {"decode": [], "prefill": []}
    samples = {}

    # ---------------------------------------------------------------- decode
    for b in batch_sizes:
        inputs = make_batch(tok, b, args.distinct_prompts)
        for mode, ctx in modes.items():
            with ctx():
                log(f"decode batch={b} {mode}: warm-up")
                _, _, out = time_generate(model, inputs, args.tokens, pad_id)
                if b == batch_sizes[0]:
                    samples[mode] = tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=False)
                times, cpus = [], []
                for rep in range(args.repeats):
                    dt, cpu, _ = time_generate(model, inputs, args.tokens, pad_id)
                    times.append(dt)
                    cpus.append(cpu)
                    log(f"decode batch={b} {mode} rep {rep + 1}/{args.repeats}: {dt:.3f}s "
                        f"({b * args.tokens / dt:.1f} tok/s)")
            s = summarize(times)
            results["decode"].append({
                "batch": b, "mode": mode, "new_tokens_per_sequence": args.tokens,
                "prompt_tokens": int(inputs["input_ids"].shape[1]),
                "seconds": s,
                "tokens_per_s": b * args.tokens / s["median"],
                "tokens_per_s_per_sequence": args.tokens / s["median"],
                "ms_per_step": 1000.0 * s["median"] / args.tokens,
                "best_tokens_per_s": b * args.tokens / s["min"],
                "cpu_seconds_per_wall_second": sum(cpus) / sum(times),
            })

    # ---------------------------------------------------------------- prefill
    copies = 1
    while len(ids := tok(PREFILL_TEXT * copies)["input_ids"]) < args.prefill_tokens:
        copies += 1
    prefill_ids = torch.tensor([ids[:args.prefill_tokens]])
    for mode, ctx in modes.items():
        with ctx(), torch.inference_mode():
            log(f"prefill {args.prefill_tokens} tokens {mode}: warm-up")
            model(input_ids=prefill_ids, use_cache=True, logits_to_keep=1)
            times, cpus = [], []
            for rep in range(max(args.repeats, 3)):
                c0, t0 = time.process_time(), time.perf_counter()
                model(input_ids=prefill_ids, use_cache=True, logits_to_keep=1)
                dt = time.perf_counter() - t0
                times.append(dt)
                cpus.append(time.process_time() - c0)
                log(f"prefill {mode} rep {rep + 1}: {dt:.3f}s ({args.prefill_tokens / dt:.0f} tok/s)")
        s = summarize(times)
        results["prefill"].append({"batch": 1, "mode": mode, "prompt_tokens": args.prefill_tokens, "seconds": s,
                                   "tokens_per_s": args.prefill_tokens / s["median"],
                                   "best_tokens_per_s": args.prefill_tokens / s["min"],
                                   "cpu_seconds_per_wall_second": sum(cpus) / sum(times)})

    peak = peak_rss_mib()
    load_end = os.getloadavg()

    # ---------------------------------------------------------------- report
    print()
    print(f"model: {gguf_path.name} via transformers {transformers.__version__} (float32, eager, CPU), "
          f"torch threads {threads}")
    print(f"decode: greedy, KV cache, prompt {PROMPT!r}{' (distinct prompts, left-padded)' if args.distinct_prompts else ''}, "
          f"{args.tokens} new tokens/sequence, median (best = fastest) of {args.repeats} after 1 warm-up; "
          f"steered = +{STEER_NORM:g}-norm vector on resid_post of block {steer_layer}")
    print(f"{'phase':<8} {'batch':>5} {'mode':<10} {'tok/s':>9} {'best':>7} {'tok/s/seq':>10} {'ms/step':>8} {'median s':>9} "
          f"{'min s':>7} {'max s':>7} {'cpu/wall':>8}")
    for r in results["decode"]:
        s = r["seconds"]
        print(f"{'decode':<8} {r['batch']:>5} {r['mode']:<10} {r['tokens_per_s']:>9.1f} {r['best_tokens_per_s']:>7.1f} "
              f"{r['tokens_per_s_per_sequence']:>10.1f} {r['ms_per_step']:>8.2f} {s['median']:>9.3f} "
              f"{s['min']:>7.3f} {s['max']:>7.3f} {r['cpu_seconds_per_wall_second']:>8.2f}")
    for r in results["prefill"]:
        s = r["seconds"]
        print(f"{'prefill':<8} {r['batch']:>5} {r['mode']:<10} {r['tokens_per_s']:>9.1f} {r['best_tokens_per_s']:>7.1f} "
              f"{'':>10} {'':>8} "
              f"{s['median']:>9.3f} {s['min']:>7.3f} {s['max']:>7.3f} {r['cpu_seconds_per_wall_second']:>8.2f}"
              f"   ({r['prompt_tokens']} prompt tokens)")
    print(f"system load average (1/5/15 min) at start {fmt_load(load_start)}, at end {fmt_load(load_end)} "
          f"on {os.cpu_count()} cpus; cpu/wall = this process's CPU seconds per wall second (about the thread count "
          f"when it has the machine to itself; lower means other processes competed for the CPUs)")
    contended = [r for r in results["decode"] + results["prefill"] if r["cpu_seconds_per_wall_second"] < 0.8 * threads]
    if contended:
        print(f"WARNING: {len(contended)} configuration(s) got less than 80% of {threads} CPUs (cpu/wall): other "
              f"processes competed and the figures are not representative; rerun on a quiet machine")
    print(f"load: {load_s:.1f}s; RSS before load {rss_before:.0f} MiB, after load {rss_loaded:.0f} MiB, "
          f"peak {peak:.0f} MiB")
    for mode, text in samples.items():
        print(f"sample ({mode}, batch {batch_sizes[0]}, row 0): {text[:120]!r}")

    if args.json:
        doc = {
            "peer": "transformers",
            "model": gguf_path.name,
            "config": {"dtype": "float32", "attn_implementation": "eager", "device": "cpu",
                       "torch_threads": threads, "torch_interop_threads": torch.get_num_interop_threads(),
                       "cpu_count": os.cpu_count(), "tokens": args.tokens, "batch_sizes": batch_sizes,
                       "repeats": args.repeats, "prompt": PROMPT, "distinct_prompts": args.distinct_prompts,
                       "prefill_tokens": args.prefill_tokens,
                       "steering": {"layer": steer_layer, "point": "resid_post (decoder block output)",
                                    "positions": "all", "norm": STEER_NORM, "seed": STEER_SEED,
                                    "vector": "torch.randn(hidden, generator=torch.Generator().manual_seed(0)) "
                                              "scaled to the norm"}},
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "transformers": transformers.__version__},
            "decode": results["decode"],
            "prefill": results["prefill"],
            "memory_mib": {"rss_before_load": rss_before, "rss_after_load": rss_loaded, "peak_rss": peak},
            "load_seconds": load_s,
            "loadavg": {"start": list(load_start), "end": list(load_end)},
            "contended_configurations": len(contended),
            "samples": samples,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
