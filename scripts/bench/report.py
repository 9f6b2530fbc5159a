#!/usr/bin/env python3
"""Merges the per-engine figure files of scripts/bench/run.sh and prints one table.

    scripts/bench/report.py [--json MERGED.json] FILE.json...

Each file is a list of figures {"engine", "dtype", "measure", ...} (bench_common.py; the Java DecodeBenchmark
writes the same): "decode"/"prefill" with batch, steered and tokens_per_s; "peak_rss_mb" with value;
"not_reachable" with reason; "version"; "interference". Rows = measure x batch (unsteered tokens/s), then the
steered/unsteered ratio of each engine and peak RSS; columns = each engine/dtype, then model-service (its best
dtype in that row) over llama.cpp and over transformers float32.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ENGINE_ORDER = {"model-service": 0, "transformers": 1, "llama.cpp": 2}
DTYPE_ORDER = {"float32": 0, "float16": 1, "bfloat16": 2}
OURS = "model-service"
MEASURE_ORDER = {"decode": 0, "prefill": 1}


def column_key(col: tuple[str, str]) -> tuple:
    return ENGINE_ORDER.get(col[0], 9), col[0], DTYPE_ORDER.get(col[1], 9), col[1]


def load(paths: list[Path]) -> list[dict]:
    figures = []
    for p in paths:
        figures += json.loads(p.read_text())
    return figures


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table(figures: list[dict]) -> str:
    columns = sorted({(f["engine"], f["dtype"]) for f in figures if f["measure"] != "version"}, key=column_key)
    unreachable = {(f["engine"], f["dtype"]): f.get("reason", "") for f in figures if f["measure"] == "not_reachable"}
    rates = {(f["engine"], f["dtype"], f["measure"], f["batch"], f["steered"]): f["tokens_per_s"]
             for f in figures if "tokens_per_s" in f}
    rss = {(f["engine"], f["dtype"]): f["value"] for f in figures if f["measure"] == "peak_rss_mb"}
    rows = sorted({(m, b) for (_, _, m, b, _) in rates}, key=lambda r: (MEASURE_ORDER.get(r[0], 9), r[0], r[1]))
    ours = [c for c in columns if c[0] == OURS and c not in unreachable]
    llama = next((c for c in columns if c[0] == "llama.cpp"), None)
    tf32 = ("transformers", "float32") if ("transformers", "float32") in columns else None

    def cell(col, value, digits=1):
        return "not reachable" if col in unreachable else fmt(value, digits)

    def ratio(measure, batch, peer):
        if not ours or peer is None or (peer[0], peer[1], measure, batch, False) not in rates:
            return "-"
        best = max(ours, key=lambda c: rates.get((c[0], c[1], measure, batch, False), 0))
        mine = rates.get((best[0], best[1], measure, batch, False))
        return "-" if mine is None else f"{mine / rates[(peer[0], peer[1], measure, batch, False)]:.2f} ({best[1]})"

    head = ["measure", "batch"] + [f"{e} {d}" for e, d in columns]
    ratio_heads = []
    if llama:
        ratio_heads.append(f"{OURS} / {llama[0]}")
    if tf32:
        ratio_heads.append(f"{OURS} / transformers float32")
    lines = ["| " + " | ".join(head + ratio_heads) + " |", "|" + "---|" * (len(head) + len(ratio_heads))]
    for m, b in rows:
        cells = [f"{m} tokens/s", str(b)] + [cell(c, rates.get((c[0], c[1], m, b, False))) for c in columns]
        cells += ([ratio(m, b, llama)] if llama else []) + ([ratio(m, b, tf32)] if tf32 else [])
        lines.append("| " + " | ".join(cells) + " |")
    for m, b in rows:
        cells = [f"{m} steered / unsteered", str(b)]
        for c in columns:
            plain, steered = rates.get((c[0], c[1], m, b, False)), rates.get((c[0], c[1], m, b, True))
            cells.append(cell(c, steered / plain if plain and steered else None, 2))
        lines.append("| " + " | ".join(cells + ["" for _ in ratio_heads]) + " |")
    if rss:
        cells = ["peak RSS MB", ""] + [cell(c, rss.get(c), 0) for c in columns]
        lines.append("| " + " | ".join(cells + ["" for _ in ratio_heads]) + " |")
    notes = [f"{e} {d}: not reachable: {reason}" for (e, d), reason in unreachable.items()]
    notes += list(dict.fromkeys(f"{f['engine']}: {f['version']}" for f in figures if f["measure"] == "version"))
    for f in figures:
        if f["measure"] == "interference":
            notes.append(f"{f['engine']} {f['dtype']}, {f['streams']} streams decoding while a {f['prompt_tokens']}-token "
                         f"prompt arrives: its TTFT {f['ttft_ms']:.0f} ms; the streams' inter-token gap from its "
                         f"arrival to its first token + 1 s: p50 {f['itl_p50_ms']:.0f} ms, p99 {f['itl_p99_ms']:.0f} "
                         f"ms, max {f['itl_max_ms']:.0f} ms (in the second before it arrived: p50 {f['itl_p50_before_ms']:.0f} ms, "
                         f"p99 {f['itl_p99_before_ms']:.0f} ms)")
    return "\n".join(lines + [""] + notes) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--json", type=Path, help="write every figure of the files, merged, to this file")
    args = ap.parse_args(argv)
    figures = load([p for p in args.files if p.exists() or print(f"missing: {p}", file=sys.stderr)])
    sys.stdout.write(table(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text("[\n" + ",\n".join("  " + json.dumps(f) for f in figures) + "\n]\n")


if __name__ == "__main__":
    main()
