"""pytest scripts/bench/test_report.py (needs nothing but pytest; not part of the test command)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
from bench_common import figure, rate, steering_vector  # noqa: E402


def figures():
    out = []
    for engine, dtype, scale in [("model-service", "float32", 1.0), ("model-service", "float16", 1.5),
                                 ("transformers", "float32", 2.0), ("llama.cpp", "Q4_1", 4.0)]:
        for b in (1, 8):
            out.append(rate(engine, dtype, "decode", b, False, [10 * b * scale, 9 * b * scale]))
            out.append(rate(engine, dtype, "decode", b, True, [9 * b * scale]))
        out.append(rate(engine, dtype, "prefill", 1, False, [100 * scale]))
        out.append(figure(engine, dtype, "peak_rss_mb", value=1000 * scale))
    out.append(figure("model-service", "bfloat16", "not_reachable", reason="no bf16 here"))
    out += [figure("llama.cpp", "Q4_1", "version", version="llama-cpp-python 0.3.36")] * 2
    out.append(figure("model-service", "float32", "interference", streams=8, prompt_tokens=1000, ttft_ms=2500.0,
                      itl_p50_ms=100.0, itl_p99_ms=2600.0, itl_max_ms=2700.0, itl_p50_before_ms=90.0,
                      itl_p99_before_ms=120.0))
    return out


def test_table_has_one_column_per_engine_dtype_and_the_ratios():
    text = report.table(figures())
    lines = text.splitlines()
    assert lines[0] == ("| measure | batch | model-service float32 | model-service float16 | model-service bfloat16 | "
                        "transformers float32 | llama.cpp Q4_1 | model-service / llama.cpp | "
                        "model-service / transformers float32 |")
    decode8 = next(line for line in lines if line.startswith("| decode tokens/s | 8 |"))
    # best of the runs; model-service's best dtype (float16, 120) against llama.cpp (320) and transformers (160)
    assert decode8 == ("| decode tokens/s | 8 | 80.0 | 120.0 | not reachable | 160.0 | 320.0 | 0.38 (float16) | "
                       "0.75 (float16) |")
    steered1 = next(line for line in lines if line.startswith("| decode steered / unsteered | 1 |"))
    assert "| 0.90 | 0.90 | not reachable | 0.90 | 0.90 |" in steered1
    assert "| prefill steered / unsteered | 1 | - | - |" in text
    assert "| peak RSS MB |  | 1000 | 1500 | not reachable | 2000 | 4000 |" in text
    assert "model-service bfloat16: not reachable: no bf16 here" in text
    assert text.count("llama.cpp: llama-cpp-python 0.3.36") == 1
    assert "TTFT 2500 ms" in text and "p99 2600 ms" in text


def test_main_merges_files(tmp_path, capsys):
    a, b, merged = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "all.json"
    figs = figures()
    a.write_text(json.dumps(figs[:5]))
    b.write_text(json.dumps(figs[5:]))
    report.main([str(a), str(b), "--json", str(merged)])
    assert json.loads(merged.read_text()) == figs
    assert "| decode tokens/s | 1 |" in capsys.readouterr().out


def test_steering_vector_is_the_java_benchmarks():
    v = steering_vector(576)
    assert abs(sum(x * x for x in v) ** 0.5 - 4.0) < 1e-5
    # DecodeBenchmark.steeringVector(576), java.util.Random(0): benchmarks' DecodeBenchmarkTest pins the same values
    assert v[0] == 0.1303417980670929
    assert v[575] == 0.027131378650665283
