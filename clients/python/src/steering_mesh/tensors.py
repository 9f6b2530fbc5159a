"""numpy <-> `steering.v1.Tensor` (shape + dtype + little-endian, row-major bytes).

FLOAT32, FLOAT16, INT32 and INT64 map to the numpy dtypes of the same name. numpy has no bfloat16: a BFLOAT16
tensor is read as float32 (every bfloat16 value is exactly a float32: its 16 bits are the float32's upper half), and
`to_tensor(x, "bfloat16")` rounds float32 to the nearest bfloat16, ties to even, by bit manipulation. Both
directions keep every bit pattern that bfloat16 can hold, NaN payloads included.
"""
from __future__ import annotations

from typing import Union

import numpy as np

from steering_mesh.proto import common_pb2

_NUMPY = {
    common_pb2.FLOAT32: np.dtype("<f4"),
    common_pb2.FLOAT16: np.dtype("<f2"),
    common_pb2.INT32: np.dtype("<i4"),
    common_pb2.INT64: np.dtype("<i8"),
}
_NAMES = {"float32": common_pb2.FLOAT32, "float16": common_pb2.FLOAT16, "bfloat16": common_pb2.BFLOAT16,
          "int32": common_pb2.INT32, "int64": common_pb2.INT64}

DTypeLike = Union[str, int, None]


def bfloat16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """uint16 bfloat16 bit patterns -> the float32 values they stand for (exact)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def float32_to_bfloat16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> uint16 bfloat16 bit patterns, rounded to nearest with ties to even. NaN stays NaN (its upper 16
    bits, with the quiet bit set only where truncation would otherwise leave an infinity)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    nan = (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    if nan.any():
        upper = (u >> 16).astype(np.uint16)
        upper = np.where((upper & np.uint16(0x7F)) == 0, upper | np.uint16(0x40), upper)
        rounded = np.where(nan, upper, rounded)
    return rounded


def _dtype_enum(dtype: DTypeLike, array: np.ndarray) -> int:
    if dtype is None:
        for enum, npd in _NUMPY.items():
            if (array.dtype.kind, array.dtype.itemsize) == (npd.kind, npd.itemsize):
                return enum
        if np.issubdtype(array.dtype, np.floating):
            return common_pb2.FLOAT32
        if np.issubdtype(array.dtype, np.integer):
            return common_pb2.INT64
        raise TypeError(f"no Tensor dtype for numpy {array.dtype}: use float32, float16, int32 or int64")
    if isinstance(dtype, str):
        key = dtype.lower()
        if key not in _NAMES:
            raise ValueError(f"dtype {dtype!r}: expected one of {sorted(_NAMES)}")
        return _NAMES[key]
    if dtype not in _NAMES.values():
        raise ValueError(f"dtype {dtype}: not a steering.v1.DType value")
    return int(dtype)


def to_tensor(array, dtype: DTypeLike = None) -> common_pb2.Tensor:
    """A numpy array (or anything np.asarray takes) as a Tensor.

    dtype: "float32", "float16", "bfloat16", "int32", "int64" (or a `DType` value); default from the array's own
    dtype (other floats become FLOAT32, other integers INT64). Values are converted as numpy casts them; for
    "bfloat16", a uint16 array is taken as bit patterns as they are, anything else is rounded from float32.
    """
    a = np.asarray(array)
    enum = _dtype_enum(dtype, a)
    if enum == common_pb2.BFLOAT16:
        bits = a if a.dtype == np.uint16 else float32_to_bfloat16_bits(a.astype(np.float32, copy=False))
        data = np.ascontiguousarray(bits, dtype="<u2").tobytes()
    else:
        data = np.ascontiguousarray(a, dtype=_NUMPY[enum]).tobytes()
    return common_pb2.Tensor(shape=list(a.shape), dtype=enum, data=data)


def from_tensor(tensor: common_pb2.Tensor, bfloat16_bits: bool = False) -> np.ndarray:
    """A Tensor as a numpy array of its shape: float32, float16, int32 or int64; BFLOAT16 as float32 (or, with
    `bfloat16_bits`, as the raw uint16 patterns). Raises ValueError when the byte length does not fit the shape."""
    shape = tuple(int(s) for s in tensor.shape)
    if tensor.dtype == common_pb2.BFLOAT16:
        npd: np.dtype = np.dtype("<u2")
    elif tensor.dtype in _NUMPY:
        npd = _NUMPY[tensor.dtype]
    else:
        raise ValueError(f"tensor dtype {common_pb2.DType.Name(tensor.dtype)} cannot be read")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(tensor.data) != count * npd.itemsize:
        raise ValueError(f"tensor of shape {list(shape)} and dtype {common_pb2.DType.Name(tensor.dtype)} needs "
                         f"{count * npd.itemsize} bytes, has {len(tensor.data)}")
    flat = np.frombuffer(tensor.data, dtype=npd).astype(npd.newbyteorder("="))
    if tensor.dtype == common_pb2.BFLOAT16 and not bfloat16_bits:
        flat = bfloat16_bits_to_float32(flat)
    return flat.reshape(shape)


def dtype_name(tensor: common_pb2.Tensor) -> str:
    return common_pb2.DType.Name(tensor.dtype).lower()


__all__ = ["to_tensor", "from_tensor", "bfloat16_bits_to_float32", "float32_to_bfloat16_bits", "dtype_name"]
