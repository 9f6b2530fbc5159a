#!/usr/bin/env python3
"""Peer of model-service's benchmark: SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized on load; or another GGUF with
--gguf) through Hugging Face transformers, PyTorch eager, CPU, default torch thread count, in --dtype float32 or
bfloat16.

Measures, in one process:
  * greedy decode throughput with a KV cache: model.generate(do_sample=False, min_new_tokens=max_new_tokens=N)
    from the prompt "I think", for each batch size (copies of the prompt), unsteered and steered, best of R;
  * prefill throughput: one forward over a P-token prompt (batch 1, logits only for the last position);
  * the process's peak RSS.

Steering = a forward hook on model.model.layers[n_layers // 2] (the block model-service's DecodeBenchmark steers)
adding bench_common.steering_vector (norm 4, the Java benchmark's vector) to the block's output at ALL positions.

    VENV="$(scripts/reference/setup-venv.sh)"
    "$VENV/bin/python" scripts/bench/transformers_bench.py --dtype bfloat16 --json out.json

--json writes bench_common's list of figures (scripts/bench/report.py reads it). Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from bench_common import PREFILL_TEXT, PROMPT, figure, log, peak_rss_mb, print_rates, rate, steering_vector, \
    write_json  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ENGINE = "transformers"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def fetch_model_path() -> Path:
    out = subprocess.run(["bash", str(REPO / "scripts/fetch-model.sh"), "smollm2-135m-instruct"],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


class Steering:
    """Adds `vector` to the output of one decoder block while enabled (`with`)."""

    def __init__(self, block: torch.nn.Module | None, vector: torch.Tensor):
        self.block, self.vector, self.handle = block, vector, None

    def _hook(self, module, inputs, output):
        if isinstance(output, tuple):
            return (output[0] + self.vector,) + tuple(output[1:])
        return output + self.vector

    def __enter__(self):
        if self.block is not None:
            self.handle = self.block.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.remove()
        self.handle = None


def generate_rate(model, inputs: dict, n: int, pad_id: int) -> float:
    t0 = time.perf_counter()
    out = model.generate(**inputs, do_sample=False, min_new_tokens=n, max_new_tokens=n, pad_token_id=pad_id)
    dt = time.perf_counter() - t0
    new = out.shape[1] - inputs["input_ids"].shape[1]
    if new != n:
        raise RuntimeError(f"generate produced {new} tokens, expected {n}")
    return inputs["input_ids"].shape[0] * n / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=64, help="new tokens per sequence (default 64)")
    ap.add_argument("--batch-sizes", "--batches", default="1,8,16", help="comma-separated batch sizes (default 1,8,16)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions per configuration (default 3)")
    ap.add_argument("--prefill-tokens", type=int, default=256, help="prefill prompt length (default 256)")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="float32", help="weights and compute (default float32)")
    ap.add_argument("--gguf", type=Path, help="GGUF file (default: path printed by scripts/fetch-model.sh)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    tool = f"transformers_bench {args.dtype}"

    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = (args.gguf or fetch_model_path()).resolve()
    log(tool, f"loading {gguf_path.name}; torch {torch.__version__}, transformers {transformers.__version__}, "
              f"{torch.get_num_threads()} threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                 dtype=DTYPES[args.dtype], attn_implementation="eager")
    model.eval()
    log(tool, f"loaded in {time.perf_counter() - t0:.1f}s")
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else model.config.eos_token_id
    vec = torch.tensor(steering_vector(model.config.hidden_size), dtype=DTYPES[args.dtype])
    steer_layer = len(model.model.layers) // 2
    modes = {False: Steering(None, vec), True: Steering(model.model.layers[steer_layer], vec)}

    figures = [figure(ENGINE, args.dtype, "version", version=f"transformers {transformers.__version__}, "
                                                            f"torch {torch.__version__}")]
    for b in batch_sizes:
        tok.padding_side = "left"
        enc = tok([PROMPT] * b, return_tensors="pt", padding=True)
        inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        runs = {False: [], True: []}
        with modes[True]:
            generate_rate(model, inputs, 8, pad_id)  # warm-up
        for rep in range(args.repeats):
            for steered, ctx in modes.items():  # interleaved, so that machine noise hits both alike
                with ctx:
                    runs[steered].append(generate_rate(model, inputs, args.tokens, pad_id))
            log(tool, f"decode batch {b} rep {rep + 1}/{args.repeats}: {runs[False][-1]:.1f} / steered "
                      f"{runs[True][-1]:.1f} tokens/s")
        figures += [rate(ENGINE, args.dtype, "decode", b, s, runs[s]) for s in (False, True)]

    copies = 1
    while len(ids := tok(PREFILL_TEXT * copies)["input_ids"]) < args.prefill_tokens:
        copies += 1
    prefill_ids = torch.tensor([ids[:args.prefill_tokens]])
    for steered, ctx in modes.items():
        runs = []
        with ctx, torch.inference_mode():
            for rep in range(args.repeats + 1):  # the first is a warm-up
                t0 = time.perf_counter()
                model(input_ids=prefill_ids, use_cache=True, logits_to_keep=1)
                if rep > 0:
                    runs.append(args.prefill_tokens / (time.perf_counter() - t0))
        figures.append(rate(ENGINE, args.dtype, "prefill", 1, steered, runs))
    figures.append(figure(ENGINE, args.dtype, "peak_rss_mb", value=peak_rss_mb()))

    print_rates(f"{ENGINE} {transformers.__version__} (torch {torch.__version__}, {args.dtype}, eager, "
                f"{torch.get_num_threads()} threads): greedy decode of {args.tokens} new tokens after {PROMPT!r}, "
                f"best of {args.repeats}; prefill {args.prefill_tokens} tokens; steered = norm-4 vector on the output "
                f"of block {steer_layer}", figures)
    print(f"{ENGINE} {args.dtype}: peak RSS {figures[-1]['value']:.0f} MB")
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
