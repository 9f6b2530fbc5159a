"""The benchmark's steering vector, the same in every engine: java.util.Random(0) gaussians (as model-service's
DecodeBenchmark draws them), rounded to float32 and scaled to L2 norm 4."""
from __future__ import annotations

import math

NORM = 4.0
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
    import struct
    return struct.unpack("f", struct.pack("f", x))[0]


def steering_vector(dim: int, seed: int = 0, norm: float = NORM) -> list[float]:
    rnd = JavaRandom(seed)
    v = [_f32(rnd.next_gaussian()) for _ in range(dim)]
    scale = _f32(norm / math.sqrt(sum(x * x for x in v)))
    return [_f32(x * scale) for x in v]
