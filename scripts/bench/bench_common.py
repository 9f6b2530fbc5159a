"""What the Python peers of scripts/bench/run.sh share: the prompts, the steering vector (the same in every engine:
java.util.Random(0) gaussians, as model-service's DecodeBenchmark draws them, rounded to float32 and scaled to L2
norm 4), the figures' JSON schema and the process's peak RSS."""
from __future__ import annotations

import json
import math
import resource
import struct
import sys
from pathlib import Path

PROMPT = "I think"
PREFILL_TEXT = (
    "The history of the city stretches back more than two thousand years, from a small settlement on the river to a "
    "crowded capital of trade, learning and art. Merchants came from distant lands, scholars wrote books that were "
    "copied by hand, and builders raised bridges, towers and churches that still stand today. "
)
STEER_NORM = 4.0
_MULT = 0x5DEECE66D
_MASK = (1 << 48) - 1


class JavaRandom:
    """java.util.Random: the 48-bit LCG, nextDouble and the polar-method nextGaussian."""

    def __init__(self, seed: int):
        self.seed = (seed ^ _MULT) & _MASK
        self.spare = None

    def _next(self, bits: int) -> int:
        self.seed = (self.seed * _MULT + 0xB) & _MASK
        return self.seed >> (48 - bits)

    def next_double(self) -> float:
        return ((self._next(26) << 27) + self._next(27)) * 2.0 ** -53

    def next_gaussian(self) -> float:
        if self.spare is not None:
            g, self.spare = self.spare, None
            return g
        while True:
            v1, v2 = 2 * self.next_double() - 1, 2 * self.next_double() - 1
            s = v1 * v1 + v2 * v2
            if 0 < s < 1:
                break
        m = math.sqrt(-2 * math.log(s) / s)
        self.spare = v2 * m
        return v1 * m


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def steering_vector(dim: int, seed: int = 0, norm: float = STEER_NORM) -> list[float]:
    rnd = JavaRandom(seed)
    v = [_f32(rnd.next_gaussian()) for _ in range(dim)]
    scale = _f32(norm / math.sqrt(sum(x * x for x in v)))
    return [_f32(x * scale) for x in v]


def log(tool: str, msg: str) -> None:
    print(f"[{tool}] {msg}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # ru_maxrss is KiB on Linux


def figure(engine: str, dtype: str, measure: str, **fields) -> dict:
    return {"engine": engine, "dtype": dtype, "measure": measure, **fields}


def rate(engine: str, dtype: str, measure: str, batch: int, steered: bool, runs: list[float]) -> dict:
    """A throughput figure: the best of the runs (tokens/s), every run kept."""
    return figure(engine, dtype, measure, batch=batch, steered=steered, tokens_per_s=max(runs), runs=runs)


def print_rates(title: str, figures: list[dict]) -> None:
    """The engine's own short table: unsteered and steered tokens/s per measure and batch."""
    print(f"\n{title}")
    print("| measure | batch | unsteered tokens/s | steered tokens/s | steered / unsteered |")
    print("|---|---|---|---|---|")
    by_key = {(f["measure"], f["batch"], f["steered"]): f["tokens_per_s"] for f in figures if "tokens_per_s" in f}
    for (measure, batch, steered), plain in by_key.items():
        if steered:
            continue
        s = by_key.get((measure, batch, True))
        print(f"| {measure} | {batch} | {plain:.1f} | " + (f"{s:.1f} | {s / plain:.3f} |" if s else "- | - |"))


def write_json(path: Path | None, figures: list[dict]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[\n" + ",\n".join("  " + json.dumps(f) for f in figures) + "\n]\n")
