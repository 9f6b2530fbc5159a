#!/usr/bin/env python3
"""Peer of model-service's benchmark: llama.cpp through llama-cpp-python (built from source by
scripts/bench/setup-llama-venv.sh) on the same GGUF at its own quantization (SmolLM2-135M-Instruct: Q4_1), CPU,
one thread per core.

  * decode batch 1: `Llama.eval` of the prompt "I think", then greedy (argmax) tokens one `Llama.eval` each;
  * decode batch B > 1: the low-level API on a second context made with n_seq_max >= 16 (and n_ctx = n_seq_max x
    the per-sequence length, as llama.cpp splits the context between sequences): one `llama_batch` per step holding
    one token of each of the B streams, each under its own sequence id, `llama_decode`, argmax of each row;
  * prefill: `Llama.eval` of a P-token prompt (one decode, logits of the last position);
  * steered: the same norm-4 vector as the other engines (bench_common.steering_vector) on the output of block
    n_layers // 2 through llama.cpp's control-vector API (`llama_set_adapter_cvec`, formerly
    `llama_apply_adapter_cvec`, which adds it to that block's output at every position: resid_post);
  * the process's peak RSS (the model is mmapped once; both contexts' KV caches count).

Leave OMP_WAIT_POLICY unset: PASSIVE slowed llama.cpp's batch-1 decode 3.5x on the 2-core machine.

    VENV="$(scripts/bench/setup-llama-venv.sh)"
    "$VENV/bin/python" scripts/bench/llama_bench.py --gguf MODEL.gguf --json out.json
"""
from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_cpp  # noqa: E402

from bench_common import PREFILL_TEXT, PROMPT, figure, log, peak_rss_mb, print_rates, rate, steering_vector, \
    write_json  # noqa: E402

ENGINE = "llama.cpp"
TOOL = "llama_bench"
# general.file_type of a GGUF (llama_ftype): the "dtype" column of the figures
FILE_TYPES = {0: "float32", 1: "float16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
              12: "Q3_K_M", 14: "Q4_K_S", 15: "Q4_K_M", 17: "Q5_K_M", 18: "Q6_K", 32: "bfloat16"}


class Steering:
    """Sets or clears the control vector of the contexts: `vector` at block `layer`'s output."""

    def __init__(self, contexts: list, n_embd: int, n_layer: int, layer: int, vector: list[float]):
        self.contexts, self.n_embd, self.layer = contexts, n_embd, layer
        # the buffer starts at layer 1 (llama.cpp has no control vector for layer 0)
        data = np.zeros((n_layer - 1) * n_embd, dtype=np.float32)
        data[(layer - 1) * n_embd:layer * n_embd] = vector
        self.data = data

    def set(self, on: bool) -> None:
        for ctx in self.contexts:
            if on:
                ptr = self.data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
                rc = llama_cpp.llama_set_adapter_cvec(ctx, ptr, self.data.size, self.n_embd, self.layer, self.layer)
            else:
                rc = llama_cpp.llama_set_adapter_cvec(ctx, None, 0, self.n_embd, -1, -1)
            if rc != 0:
                raise RuntimeError(f"llama_set_adapter_cvec returned {rc}")


def decode_single(llm: llama_cpp.Llama, prompt: list[int], n: int, n_vocab: int) -> tuple[float, list[int]]:
    """Greedy decode through Llama.eval; tokens/s (the prompt's eval included, as in the other engines)."""
    out = []
    t0 = time.perf_counter()
    llm.reset()
    llm.eval(prompt)
    for _ in range(n):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
        token = int(logits.argmax())
        out.append(token)
        llm.eval([token])
    return n / (time.perf_counter() - t0), out


class Batched:
    """A context with n_seq_max sequences and one llama_batch, for B greedy streams decoded together."""

    def __init__(self, model, n_seq_max: int, per_seq: int, threads: int, n_vocab: int):
        params = llama_cpp.llama_context_default_params()
        params.n_seq_max = n_seq_max
        params.n_ctx = n_seq_max * per_seq
        params.n_batch = params.n_ubatch = max(512, n_seq_max * 16)
        params.n_threads = params.n_threads_batch = threads
        self.ctx = llama_cpp.llama_init_from_model(model, params)
        if not self.ctx:
            raise RuntimeError("llama_init_from_model failed")
        self.capacity = params.n_batch
        self.batch = llama_cpp.llama_batch_init(self.capacity, 0, 1)
        self.n_vocab = n_vocab
        self.n_seq_max = llama_cpp.llama_n_seq_max(self.ctx)

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> np.ndarray:
        """entries = (token, position, sequence id, wants logits); returns the argmax of each row with logits."""
        b = self.batch
        for i, (token, pos, seq, logits) in enumerate(entries):
            b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
            b.seq_id[i][0] = seq
        b.n_tokens = len(entries)
        rc = llama_cpp.llama_decode(self.ctx, b)
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        rows = sum(1 for e in entries if e[3])
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits(self.ctx), shape=(rows, self.n_vocab)).argmax(axis=1)

    def decode(self, prompt: list[int], streams: int, n: int) -> tuple[float, list[int]]:
        """Greedy decode of n tokens for `streams` copies of the prompt; tokens/s over all streams."""
        if streams > self.n_seq_max or streams * len(prompt) > self.capacity:
            raise ValueError(f"{streams} streams do not fit the context (n_seq_max {self.n_seq_max})")
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)
        t0 = time.perf_counter()
        last = len(prompt) - 1
        nxt = self._decode([(t, p, s, p == last) for s in range(streams) for p, t in enumerate(prompt)])
        first = [int(nxt[0])]
        for step in range(1, n):
            nxt = self._decode([(int(nxt[s]), len(prompt) + step - 1, s, True) for s in range(streams)])
            first.append(int(nxt[0]))
        return streams * n / (time.perf_counter() - t0), first

    def close(self) -> None:
        llama_cpp.llama_batch_free(self.batch)
        llama_cpp.llama_free(self.ctx)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, required=True, help="GGUF file")
    ap.add_argument("--tokens", type=int, default=64, help="new tokens per sequence (default 64)")
    ap.add_argument("--batches", default="1,8,16", help="comma-separated batch sizes (default 1,8,16)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions per configuration (default 3)")
    ap.add_argument("--prefill-tokens", type=int, default=256, help="prefill prompt length (default 256)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads (default: one per core)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    if "OMP_WAIT_POLICY" in os.environ:
        log(TOOL, f"note: OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']} is set (it slows llama.cpp's decode here)")

    n_ctx = max(args.prefill_tokens, 16 + args.tokens) + 64
    llm = llama_cpp.Llama(model_path=str(args.gguf), n_ctx=n_ctx, n_batch=512, n_threads=args.threads,
                          n_threads_batch=args.threads, verbose=False)
    model = llm.model
    n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
    n_embd, n_layer = llama_cpp.llama_model_n_embd(model), llama_cpp.llama_model_n_layer(model)
    file_type = llm.metadata.get("general.file_type", "?")
    dtype = FILE_TYPES.get(int(file_type) if file_type.isdigit() else -1, f"file type {file_type}")
    prompt = llm.tokenize(PROMPT.encode(), add_bos=True, special=False)
    version = f"llama-cpp-python {llama_cpp.__version__} (its vendored llama.cpp)"
    log(TOOL, f"{version}, {args.gguf.name}, n_embd {n_embd}, {n_layer} layers, {args.threads} threads")
    figures = [figure(ENGINE, dtype, "version", version=version,
                      system_info=llama_cpp.llama_print_system_info().decode(errors="replace").strip())]

    multi = [b for b in batches if b > 1]
    batched = Batched(model, max([16] + multi), 256 * ((len(prompt) + args.tokens + 256) // 256), args.threads,
                      n_vocab) if multi else None
    steer = Steering([llm.ctx] + ([batched.ctx] if batched else []), n_embd, n_layer, n_layer // 2,
                     steering_vector(n_embd))
    samples = {}
    for b in batches:
        runs = {False: [], True: []}
        for rep in range(args.repeats + 1):  # the first round is a warm-up
            for steered in (False, True):  # interleaved, so that machine noise hits both alike
                steer.set(steered)
                if b == 1:
                    tps, tokens = decode_single(llm, prompt, args.tokens, n_vocab)
                else:
                    tps, tokens = batched.decode(prompt, b, args.tokens)
                samples[(b, steered)] = tokens
                if rep > 0:
                    runs[steered].append(tps)
            if rep > 0:
                log(TOOL, f"decode batch {b} rep {rep}/{args.repeats}: {runs[False][-1]:.1f} / steered "
                          f"{runs[True][-1]:.1f} tokens/s")
        figures += [rate(ENGINE, dtype, "decode", b, s, runs[s]) for s in (False, True)]
    for b in batches:  # evidence that the control vector is applied (norm 4 may leave the first tokens alone)
        plain, steered = samples[(b, False)], samples[(b, True)]
        log(TOOL, f"batch {b}: steered tokens differ from unsteered at {sum(x != y for x, y in zip(plain, steered))} "
                  f"of {len(plain)} positions (first stream)")

    text = PREFILL_TEXT * (1 + args.prefill_tokens // 40)
    prefill = llm.tokenize(text.encode(), add_bos=False)[:args.prefill_tokens]
    for steered in (False, True):
        steer.set(steered)
        runs = []
        for rep in range(args.repeats + 1):
            llm.reset()
            t0 = time.perf_counter()
            llm.eval(prefill)
            if rep > 0:
                runs.append(len(prefill) / (time.perf_counter() - t0))
        figures.append(rate(ENGINE, dtype, "prefill", 1, steered, runs))
    steer.set(False)
    figures.append(figure(ENGINE, dtype, "peak_rss_mb", value=peak_rss_mb()))

    print_rates(f"{ENGINE} ({version}, {args.gguf.name} at its own quantization {dtype}, "
                f"{args.threads} threads): greedy decode of {args.tokens} new tokens after {PROMPT!r}, best of "
                f"{args.repeats}; prefill {len(prefill)} tokens; steered = control vector at layer {n_layer // 2}",
                figures)
    print(f"{ENGINE}: peak RSS {figures[-1]['value']:.0f} MB")
    if batched:
        batched.close()
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
