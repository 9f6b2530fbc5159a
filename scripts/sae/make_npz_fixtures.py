#!/usr/bin/env python3
"""Make the .npz test fixtures of steering-common (common/src/test/resources/npz/).

The Java reader (steering.common.npz) is checked against archives written by NumPy itself. Usage (needs numpy):

    python3 scripts/sae/make_npz_fixtures.py [OUTPUT_DIR]

OUTPUT_DIR defaults to common/src/test/resources/npz. The values are deterministic (fixed seed); only the zip
timestamps change between runs. Writes:

* arrays.npz            - np.savez (stored entries): float32 2-d, float64 1-d, float16 2-d, int64 1-d, int32 3-d,
                          uint8 1-d, bool 1-d, a Fortran-ordered float32 2-d, a big-endian float32 2-d, a 0-d scalar
                          and an empty array.
* arrays_compressed.npz - the same arrays through np.savez_compressed (deflated entries).
* expected.json         - for each array: dtype, shape and its values as float32 in C order (a flat list).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "common/src/test/resources/npz"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    arrays = {
        "f32": rng.standard_normal((3, 5)).astype(np.float32),
        "f64": rng.standard_normal(7).astype(np.float64),
        "f16": rng.standard_normal((2, 4)).astype(np.float16),
        "i64": rng.integers(-1000, 1000, size=6).astype(np.int64),
        "i32": rng.integers(-50, 50, size=(2, 3, 4)).astype(np.int32),
        "u8": rng.integers(0, 255, size=5).astype(np.uint8),
        "b1": np.array([True, False, True, True]),
        "fortran": np.asfortranarray(rng.standard_normal((4, 3)).astype(np.float32)),
        "big_endian": rng.standard_normal((2, 3)).astype(">f4"),
        "scalar": np.float32(2.5),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    np.savez(out / "arrays.npz", **arrays)
    np.savez_compressed(out / "arrays_compressed.npz", **arrays)
    expected = {
        name: {
            "dtype": a.dtype.str,
            "shape": list(np.shape(a)),
            "values": [float(v) for v in np.ascontiguousarray(a).astype(np.float32).ravel(order="C")],
        }
        for name, a in arrays.items()
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
