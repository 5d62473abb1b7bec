"""The safetensors reader and writer: exact round trips, and every malformed header refused."""

from __future__ import annotations

import io
import json
import struct

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cornu.saving import CornuFileError, limits
from cornu.saving.weights import read_tensors, write_tensors

DTYPES = [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64,
          np.int64, np.float16, np.float32, np.float64]


def _write(tensors: dict, metadata: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    write_tensors(buffer, tensors, metadata or {})
    return buffer.getvalue()


def _text(header: str, data: bytes = b"") -> bytes:
    return struct.pack("<Q", len(header.encode())) + header.encode() + data


def _raw(header: dict, data: bytes = b"") -> bytes:
    return _text(json.dumps(header), data)


def test_round_trip_of_every_dtype_and_odd_shapes():
    tensors = {f"t{i}": np.arange(6).astype(d).reshape(2, 3) for i, d in enumerate(DTYPES)}
    tensors |= {"bf16": np.linspace(-2, 2, 5).astype(ml_dtypes.bfloat16),
                "scalar": np.float32(3.5), "empty": np.zeros((0, 4), np.float32),
                "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
                "strided": np.arange(20, dtype=np.int32)[::3]}
    raw = _write(tensors, {"format": "test"})
    assert struct.unpack("<Q", raw[:8])[0] % 8 == 0  # the data starts aligned
    parsed = read_tensors(raw, "x")
    assert parsed.metadata == {"format": "test"} and list(parsed.specs) == list(tensors)
    for name, value in tensors.items():
        got = parsed.array(name)
        assert got.dtype == np.asarray(value).dtype and got.shape == np.shape(value)
        np.testing.assert_array_equal(got, value)
        assert got.flags.writeable


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda s: s != "__metadata__"),
                       hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0,
                                                                          min_side=0)),
                       max_size=4))
def test_any_tensors_round_trip(tensors):
    parsed = read_tensors(_write(tensors), "x")
    for name, value in tensors.items():
        np.testing.assert_array_equal(parsed.array(name), value)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_are_refused(raw):
    try:
        read_tensors(raw, "x")
    except CornuFileError:
        pass


F4 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
MALFORMED = {
    "too-short": (b"\x01\x00", "shorter than the 8-byte"),
    "not-json": (_text("{x}"), "not valid JSON"),
    "not-object": (_raw([]), "not a JSON object"),  # type: ignore[arg-type]
    "unknown-dtype": (_raw({"a": {**F4, "dtype": "F128"}}, bytes(8)), "dtype 'F128'"),
    "negative-dim": (_raw({"a": {**F4, "shape": [-2]}}, bytes(8)), "shape"),
    "bool-dim": (_raw({"a": {**F4, "shape": [True, 2]}}, bytes(8)), "shape"),
    "float-dim": (_raw({"a": {**F4, "shape": [2.0]}}, bytes(8)), "shape"),
    "too-many-dims": (_raw({"a": {**F4, "shape": [1] * 100}}, bytes(8)), "at most"),
    "size-mismatch": (_raw({"a": {**F4, "shape": [3]}}, bytes(8)), "needs 12 bytes"),
    "reversed-offsets": (_raw({"a": {**F4, "data_offsets": [8, 0]}}, bytes(8)), "needs 8"),
    "missing-field": (_raw({"a": {"dtype": "F32", "shape": [2]}}, bytes(8)), "exactly"),
    "extra-field": (_raw({"a": {**F4, "code": "x"}}, bytes(8)), "exactly"),
    "overlap": (_raw({"a": F4, "b": F4}, bytes(8)), "contiguous"),
    "hole": (_raw({"a": {**F4, "data_offsets": [4, 12]}}, bytes(12)), "contiguous"),
    "trailing-bytes": (_raw({"a": F4}, bytes(9)), "trailing"),
    "short-data": (_raw({"a": F4}, bytes(7)), "truncated"),
    "metadata-not-strings": (_raw({"__metadata__": {"a": 1}}), "__metadata__"),
    "empty-name": (_raw({"": F4}, bytes(8)), "empty name"),
    "duplicate-name": (_text(f'{{"a":{json.dumps(F4)},"a":{json.dumps(F4)}}}', bytes(8)),
                       "duplicate key"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_are_refused(case):
    raw, pattern = MALFORMED[case]
    with pytest.raises(CornuFileError, match=pattern):
        read_tensors(raw, "'w.safetensors'")


def test_tensor_count_is_bounded(monkeypatch):
    monkeypatch.setattr(limits, "MAX_TENSORS", 2)
    raw = _write({k: np.zeros(1, np.float32) for k in "abc"})
    with pytest.raises(CornuFileError, match="3 tensors"):
        read_tensors(raw, "x")


def test_unsupported_dtypes_are_refused_when_writing():
    with pytest.raises(CornuFileError, match="complex"):
        _write({"c": np.zeros(2, np.complex64)})
    with pytest.raises(CornuFileError):
        _write({"__metadata__": np.zeros(2, np.float32)})
