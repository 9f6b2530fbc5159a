"""numpy <-> Tensor, offline: every bit pattern of the 16-bit types, random float32 / int bits, rounding to
bfloat16 against a float64 reference."""
import numpy as np
import pytest

from steering_mesh import bfloat16_bits_to_float32, float32_to_bfloat16_bits, from_tensor, to_tensor
from steering_mesh.proto import common_pb2

ALL16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)


def test_every_bfloat16_pattern_survives_tensor_numpy_tensor():
    t = common_pb2.Tensor(shape=[256, 256], dtype=common_pb2.BFLOAT16, data=ALL16.astype("<u2").tobytes())
    a = from_tensor(t)
    assert a.dtype == np.float32 and a.shape == (256, 256)
    back = to_tensor(a, "bfloat16")
    assert back.dtype == common_pb2.BFLOAT16 and list(back.shape) == [256, 256]
    assert back.data == t.data
    assert np.array_equal(from_tensor(t, bfloat16_bits=True).ravel(), ALL16)


def test_bfloat16_values_are_the_upper_half_of_float32():
    a = bfloat16_bits_to_float32(np.array([0x3F80, 0xC000, 0x7F80, 0x0001], dtype=np.uint16))
    assert a[0] == 1.0 and a[1] == -2.0 and np.isposinf(a[2]) and a[3] == np.float32(2.0 ** -133)


def test_every_float16_pattern_survives_both_ways():
    t = to_tensor(ALL16.view(np.float16))
    assert t.dtype == common_pb2.FLOAT16 and len(t.data) == 2 << 16
    a = from_tensor(t)
    assert a.dtype == np.float16
    assert a.view(np.uint16).tobytes() == ALL16.tobytes()
    assert to_tensor(a).data == t.data


@pytest.mark.parametrize("dtype,enum", [(np.float32, common_pb2.FLOAT32), (np.int32, common_pb2.INT32),
                                        (np.int64, common_pb2.INT64)])
def test_random_bits_of_wide_types_survive_both_ways(dtype, enum):
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 256, size=(3, 5, 8 * np.dtype(dtype).itemsize), dtype=np.uint8)
    a = bits.view(dtype).reshape(3, 5, 8)
    a.ravel()[:4] = np.array([0, -1, 1, 2], dtype=dtype) if enum != common_pb2.FLOAT32 else \
        np.array([np.nan, np.inf, -0.0, 1e-45], dtype=dtype)
    t = to_tensor(a)
    assert t.dtype == enum and list(t.shape) == [3, 5, 8] and t.data == a.astype(a.dtype.newbyteorder("<")).tobytes()
    back = from_tensor(t)
    assert back.dtype == dtype and back.tobytes() == a.tobytes()


def test_rounding_to_bfloat16_is_nearest_even():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(100_000) * 10.0 ** rng.integers(-30, 30, 100_000)).astype(np.float32)
    ties = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8)], dtype=np.float32)
    x = np.concatenate([x, ties])
    got = bfloat16_bits_to_float32(float32_to_bfloat16_bits(x)).astype(np.float64)
    # reference: the two bfloat16 neighbours by truncation, the nearer one (ties: even mantissa)
    u = x.view(np.uint32)
    lo = bfloat16_bits_to_float32((u >> 16).astype(np.uint16)).astype(np.float64)
    hi = bfloat16_bits_to_float32(((u >> 16) + 1).astype(np.uint16)).astype(np.float64)
    d_lo, d_hi = np.abs(x - lo), np.abs(hi - x)
    even_lo = ((u >> 16) & 1) == 0
    want = np.where(d_lo < d_hi, lo, np.where(d_hi < d_lo, hi, np.where(even_lo, lo, hi)))
    assert np.array_equal(got, want)
    assert list(got[-3:]) == [1.0, 1 + 2 ** -6, -1.0]


def test_nan_stays_nan_in_bfloat16():
    nans = np.array([0x7F800001, 0xFF800001, 0x7FC00000, 0x7F80FFFF], dtype=np.uint32).view(np.float32)
    bits = float32_to_bfloat16_bits(nans)
    assert np.isnan(bfloat16_bits_to_float32(bits)).all()
    assert list(bits >> 15) == [0, 1, 0, 0]


def test_shapes_scalars_big_endian_and_bad_lengths():
    assert list(to_tensor(np.float32(2.5)).shape) == [] and from_tensor(to_tensor(np.float32(2.5))) == 2.5
    be = np.arange(6, dtype=">f4").reshape(2, 3)
    assert np.array_equal(from_tensor(to_tensor(be)), be)
    assert to_tensor([1.0, 2.0]).dtype == common_pb2.FLOAT32
    assert to_tensor(np.arange(3)).dtype == common_pb2.INT64
    assert to_tensor(np.ones(3), "float16").dtype == common_pb2.FLOAT16
    with pytest.raises(ValueError, match="needs 12 bytes, has 8"):
        from_tensor(common_pb2.Tensor(shape=[3], dtype=common_pb2.FLOAT32, data=b"\0" * 8))
    with pytest.raises(ValueError, match="dtype"):
        to_tensor(np.ones(2), "float64")
