#!/usr/bin/env python3
"""Make the small GGUF test fixtures of steering-common (common/src/test/resources/gguf/).

The Java GGUF reader and dequantizer (steering.common.gguf) are checked against these files, which are
written and dequantized by an independent implementation: the `gguf` Python package of llama.cpp
(`gguf.GGUFWriter` and the numpy code of `gguf.quants`).

Usage (from anywhere; needs `pip install gguf numpy`):

    python3 scripts/reference/make_gguf_fixtures.py [OUTPUT_DIR]

OUTPUT_DIR defaults to common/src/test/resources/gguf next to this script's repository. The output is
deterministic (fixed seed), so running the script again must leave `git status` clean. It writes:

* fixtures.gguf   - metadata of every GGUF value type (all integer widths, float32/64, bool, string, arrays
                    of numbers, strings, bools and a nested array) and one 2 x 256 tensor per element type
                    (ne = [256, 2]; F32, F16, BF16, F64, I8, I16, I32, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K,
                    Q3_K, Q4_K, Q5_K, Q6_K, Q8_K), plus a 3-d and a 1-d F32 tensor to check shapes.
                    Legacy types are quantized from seeded normal values with gguf.quants.quantize; the
                    k-quants have no quantizer in the package, so their blocks are seeded random bytes whose
                    float16 scale fields are set to sane values (any bytes are valid quantized data).
* aligned64.gguf  - general.alignment = 64 and F32 tensors of odd lengths, to check padding.
* expected.json   - for each tensor of both files: name, ggml type name, ne (ggml order), and the file of
                    its expected float32 values.
* <file>.<tensor>.f32 - the expected values as raw little-endian float32, from gguf.quants.dequantize
                    (Q8_K and the integer/F64 types have no dequantizer there: their values are computed
                    below with numpy as d * q and astype(float32), which is what ggml does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V
from gguf.quants import dequantize, quantize

SEED = 20240601
ROWS, COLS = 2, 256


def out_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    return Path(__file__).resolve().parents[2] / "common" / "src" / "test" / "resources" / "gguf"


def k_quant_blocks(rng: np.random.Generator, qtype: T, half_fields: list[int], float_fields: list[int]) -> np.ndarray:
    """Random k-quant super-blocks (ROWS x COLS elements) with sane scale fields at the given byte offsets."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = ROWS * COLS // block_size
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in half_fields:
        d = rng.uniform(0.001, 0.05, size=n_blocks).astype(np.float16)
        blocks[:, off:off + 2] = d.view(np.uint8).reshape(n_blocks, 2)
    for off in float_fields:
        d = rng.uniform(0.001, 0.05, size=n_blocks).astype(np.float32)
        blocks[:, off:off + 4] = d.view(np.uint8).reshape(n_blocks, 4)
    return blocks.reshape(ROWS, -1)


def q8_k_reference(raw: np.ndarray) -> np.ndarray:
    """block_q8_K = float32 d, int8 qs[256], int16 bsums[16]; value = d * q."""
    blocks = raw.reshape(-1, gguf.GGML_QUANT_SIZES[T.Q8_K][1])
    d = blocks[:, 0:4].copy().view(np.float32)
    q = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
    return (d * q).reshape(-1)


def main() -> None:
    out = out_dir()
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    manifest: dict[str, list[dict]] = {}

    # ---------------------------------------------------------------- fixtures.gguf
    w = gguf.GGUFWriter(out / "fixtures.gguf", arch="fixture")
    w.add_string("general.name", "steering-mesh gguf fixture")
    w.add_string("test.string", "h\u00e9llo w\u00f6rld \u2713")
    w.add_uint8("test.uint8", 200)
    w.add_int8("test.int8", -100)
    w.add_uint16("test.uint16", 60000)
    w.add_int16("test.int16", -30000)
    w.add_uint32("test.uint32", 4000000000)
    w.add_int32("test.int32", -2000000000)
    w.add_uint64("test.uint64", 2**64 - 1)
    w.add_int64("test.int64", -9000000000000000000)
    w.add_float32("test.float32", 0.1)
    w.add_float64("test.float64", 3.141592653589793)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_key_value("test.array.int32", [1, -2, 3], V.ARRAY, sub_type=V.INT32)
    w.add_key_value("test.array.uint8", [0, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("test.array.float32", [0.5, -1.25], V.ARRAY, sub_type=V.FLOAT32)
    w.add_key_value("test.array.string", ["a", "bc", ""], V.ARRAY, sub_type=V.STRING)
    w.add_key_value("test.array.bool", [True, False, True], V.ARRAY, sub_type=V.BOOL)
    w.add_array("test.array.nested", [[1, 2], [3]])

    tensors: list[tuple[str, str, list[int], np.ndarray]] = []  # name, type, ne, expected

    def add(name: str, qtype: T, data: np.ndarray, expected: np.ndarray, ne: list[int] | None = None) -> None:
        if qtype in (T.F32, T.F16, T.F64, T.I8, T.I16, T.I32):
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=qtype)
        tensors.append((name, qtype.name, ne or [COLS, ROWS], expected.astype(np.float32).reshape(-1)))

    x = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    add("t.f32", T.F32, x, x)
    f16 = x.astype(np.float16)
    # a few special half values: zeros, subnormals, the largest finite, infinities
    f16[0, :8] = np.array([0.0, -0.0, 6e-8, -6e-8, 3e-5, 65504.0, np.inf, -np.inf], dtype=np.float16)
    add("t.f16", T.F16, f16, dequantize(f16.view(np.uint8), T.F16))
    for qtype in (T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1):
        q = quantize(x, qtype)
        add("t." + qtype.name.lower(), qtype, q, dequantize(q, qtype))
    add("t.f64", T.F64, x.astype(np.float64) * 1.0000001, (x.astype(np.float64) * 1.0000001).astype(np.float32))
    i8 = rng.integers(-128, 128, size=(ROWS, COLS), dtype=np.int8)
    add("t.i8", T.I8, i8, i8.astype(np.float32))
    i16 = rng.integers(-32768, 32768, size=(ROWS, COLS), dtype=np.int16)
    add("t.i16", T.I16, i16, i16.astype(np.float32))
    i32 = rng.integers(-2**31, 2**31, size=(ROWS, COLS), dtype=np.int32)
    add("t.i32", T.I32, i32, i32.astype(np.float32))

    # k-quants: byte offsets of the float16 d / dmin fields in each super-block
    k_layouts = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
    for qtype, halves in k_layouts.items():
        raw = k_quant_blocks(rng, qtype, halves, [])
        add("t." + qtype.name.lower(), qtype, raw, dequantize(raw, qtype))
    raw = k_quant_blocks(rng, T.Q8_K, [], [0])
    add("t.q8_k", T.Q8_K, raw, q8_k_reference(raw))

    s3 = rng.standard_normal((2, 3, 4)).astype(np.float32)  # numpy shape (2,3,4) = ggml ne [4,3,2]
    add("shape.3d", T.F32, s3, s3, ne=[4, 3, 2])
    s1 = np.arange(5, dtype=np.float32)
    add("shape.1d", T.F32, s1, s1, ne=[5])

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    manifest["fixtures.gguf"] = write_expected(out, "fixtures", tensors)

    # ---------------------------------------------------------------- aligned64.gguf
    w = gguf.GGUFWriter(out / "aligned64.gguf", arch="fixture")
    w.add_custom_alignment(64)
    tensors = []
    for name, n in (("odd.a", 3), ("odd.b", 7), ("odd.c", 17)):
        v = rng.standard_normal(n).astype(np.float32)
        w.add_tensor(name, v)
        tensors.append((name, "F32", [n], v))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    manifest["aligned64.gguf"] = write_expected(out, "aligned64", tensors)

    (out / "expected.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {len(list(out.iterdir()))} files, {total} bytes, to {out}")


def write_expected(out: Path, stem: str, tensors: list[tuple[str, str, list[int], np.ndarray]]) -> list[dict]:
    entries = []
    for name, type_name, ne, values in tensors:
        file = f"{stem}.{name}.f32"
        values.astype("<f4").tofile(out / file)
        entries.append({"name": name, "type": type_name, "ne": ne, "expected": file})
    return entries


if __name__ == "__main__":
    main()
