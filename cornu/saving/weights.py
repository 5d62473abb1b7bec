"""A small, strict reader and writer of the safetensors format.

Layout: 8 bytes (little-endian u64) header length N, N bytes of JSON
`{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__":
{str: str}}`, then the tensors' raw little-endian bytes, contiguous and in header order.
The reader checks every field before it makes an array: header size, dtype names,
shapes against byte lengths, offsets contiguous, in range and without holes.
`check_head` does those checks on a file's first bytes, so a reader can refuse a bad
file before reading its body.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import ml_dtypes
import numpy as np

from cornu.saving import jsonio, limits
from cornu.saving.errors import CornuFileError

__all__ = ["TensorFile", "TensorSpec", "check_head", "read_tensors", "write_tensors"]

_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype("<u1"),
    "I8": np.dtype("<i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
_NAMES: dict[str, str] = {dtype.name: name for name, dtype in _DTYPES.items()}
_METADATA = "__metadata__"
_Bad = Callable[[str], CornuFileError]


@dataclass(frozen=True)
class TensorSpec:
    dtype: np.dtype
    shape: tuple[int, ...]
    begin: int  # offset in the data buffer
    end: int


class TensorFile:
    """A parsed safetensors buffer: `specs` and `metadata` are checked; arrays on demand."""

    def __init__(self, data: bytes | bytearray, start: int, specs: dict[str, TensorSpec],
                 metadata: dict[str, str]) -> None:
        self._data = data
        self._start = start
        self.specs = specs
        self.metadata = metadata

    def array(self, name: str) -> np.ndarray:
        """A fresh native-endian copy of tensor `name`."""
        spec = self.specs[name]
        count = math.prod(spec.shape)
        flat = np.frombuffer(self._data, spec.dtype, count, self._start + spec.begin)
        return flat.astype(spec.dtype.newbyteorder("="), copy=True).reshape(spec.shape)


def dtype_name(dtype: np.dtype) -> str | None:
    """The safetensors name of a numpy dtype ('F32'), or None if the format lacks it."""
    return _NAMES.get(np.dtype(dtype).name)


def write_tensors(fp: BinaryIO, tensors: Mapping[str, np.ndarray],
                  metadata: Mapping[str, str]) -> None:
    """Write `tensors` (in their order) and string `metadata` to `fp`."""
    header: dict[str, Any] = {_METADATA: dict(metadata)}
    arrays: list[np.ndarray] = []
    offset = 0
    for name, value in tensors.items():
        array = np.asarray(value)
        kind = dtype_name(array.dtype)
        if kind is None or name == _METADATA or not name:
            raise CornuFileError(f"Cannot store tensor {name!r} of dtype {array.dtype} in "
                                 f"safetensors. Supported dtypes: {', '.join(_NAMES)}.")
        array = array.astype(_DTYPES[kind], order="C", copy=False)
        header[name] = {"dtype": kind, "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned
    fp.write(struct.pack("<Q", len(raw)))
    fp.write(raw)
    for array in arrays:
        fp.write(memoryview(array.reshape(-1).view(np.uint8)))


def read_tensors(data: bytes | bytearray, where: str) -> TensorFile:
    """Parse and check a whole safetensors buffer; `where` names it in errors."""
    size, specs, metadata = _header(data, len(data), _bad(where))
    return TensorFile(data, 8 + size, specs, metadata)


def check_head(prefix: bytes | bytearray, total: int, where: str) -> int:
    """Judge a safetensors file of `total` bytes by its first bytes, before its body is read.

    Returns how many leading bytes it needs (8, then 8 + the header's length) while
    `prefix` is shorter; once it holds them, checks the header as `read_tensors` does
    (sizes, names, dtypes, shapes, offsets against `total`) and returns 0, or raises."""
    bad = _bad(where)
    if total < 8:
        raise _short(total, bad)
    if len(prefix) < 8:
        return 8
    size = _header_size(prefix, total, bad)
    if len(prefix) < 8 + size:
        return 8 + size
    _header(prefix, total, bad)
    return 0


def _bad(where: str) -> _Bad:
    def bad(problem: str) -> CornuFileError:
        return CornuFileError(f"{where} is not a valid safetensors file: {problem}.")

    return bad


def _short(total: int, bad: _Bad) -> CornuFileError:
    return bad(f"it is {total} bytes long, shorter than the 8-byte header length")


def _header_size(data: bytes | bytearray, total: int, bad: _Bad) -> int:
    """The header length of a buffer of `total` bytes starting with `data` (8 or more)."""
    if total < 8:
        raise _short(total, bad)
    (size,) = struct.unpack_from("<Q", data, 0)
    if size > limits.MAX_HEADER_BYTES:
        raise bad(f"its header claims {size} bytes, more than the limit of "
                  f"{limits.MAX_HEADER_BYTES} (cornu.saving.limits.MAX_HEADER_BYTES)")
    if 8 + size > total:
        raise bad(f"its header claims {size} bytes but only {total - 8} follow "
                  "(the file is truncated)")
    return size


def _header(data: bytes | bytearray, total: int, bad: _Bad
            ) -> tuple[int, dict[str, TensorSpec], dict[str, str]]:
    """(header length, specs, metadata) of a buffer of `total` bytes, of which `data`
    holds at least the header: every field checked, and the tensors' bytes against
    `total`."""
    size = _header_size(data, total, bad)
    header = _parse_header(data[8:8 + size], bad)
    metadata = header.pop(_METADATA, {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise bad("__metadata__ must map strings to strings")
    if len(header) > limits.MAX_TENSORS:
        raise bad(f"it lists {len(header)} tensors, more than {limits.MAX_TENSORS}")
    specs = {name: _spec(name, entry, bad) for name, entry in header.items()}
    position = 0
    for name, spec in sorted(specs.items(), key=lambda item: (item[1].begin, item[1].end)):
        if spec.begin != position:
            raise bad(f"tensor {name!r} starts at byte {spec.begin}, expected {position} "
                      "(offsets must be contiguous, without overlap or holes)")
        position = spec.end
    if 8 + size + position != total:
        raise bad(f"the tensors take {position} bytes but {total - 8 - size} follow the "
                  "header (the file is truncated or has trailing bytes)")
    return size, specs, metadata


def _parse_header(raw: bytes | bytearray, bad: _Bad) -> dict[str, Any]:
    try:
        header = jsonio.parse(raw)
    except ValueError as exc:
        raise bad(f"its header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    return header


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _spec(name: str, entry: Any, bad: _Bad) -> TensorSpec:
    if not name:
        raise bad("a tensor has an empty name")
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise bad(f"tensor {name!r} must have exactly dtype, shape and data_offsets")
    dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise bad(f"tensor {name!r} has dtype {entry['dtype']!r}; known dtypes: "
                  f"{', '.join(_DTYPES)}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or len(shape) > limits.MAX_RANK \
            or not all(_int(d) for d in shape):
        raise bad(f"tensor {name!r} has shape {shape!r}; a shape is a list of at most "
                  f"{limits.MAX_RANK} non-negative integers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_int(o) for o in offsets):
        raise bad(f"tensor {name!r} has data_offsets {offsets!r}; expected [begin, end]")
    begin, end = offsets
    nbytes = math.prod(shape) * dtype.itemsize
    if end < begin or end - begin != nbytes:
        raise bad(f"tensor {name!r} of dtype {entry['dtype']} and shape {shape} needs "
                  f"{nbytes} bytes but its data_offsets {offsets} span {end - begin}")
    return TensorSpec(dtype, tuple(shape), begin, end)
