"""IDX files (MNIST's format, also Fashion-MNIST's): strict parsing and a per-process cache.

An IDX file of unsigned bytes is a 4-byte big-endian magic number (2049 for a vector of
labels, 2051 for a stack of images), one 4-byte big-endian size per dimension, then the
bytes. `load` locates each file (through the data set's `locate`), parses it, checks its
digest wherever it was found (after parsing, so a malformed file reports what is wrong
with it) and keeps the parsed, read-only array for later calls.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from cornu.data.datasets import _cache

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension

_lock = threading.Lock()
_parsed: OrderedDict[tuple, np.ndarray] = OrderedDict()  # stat key -> read-only array
_MAX_PARSED = 8


def load(
    names: Sequence[str],
    locate: Callable[[str], tuple[Path, str, str]],
    files: Mapping[str, tuple[int, tuple[int, ...], str]],
    *,
    title: str,
    max_bytes: int,
) -> list[np.ndarray]:
    """Fresh, writable copies of the IDX files `names`; `files` maps a name to (magic,
    shape, sha256 of the uncompressed content)."""
    with _lock:
        return [_load_file(name, locate, files[name], title, max_bytes).copy()
                for name in names]


def _load_file(name, locate, spec, title, max_bytes) -> np.ndarray:
    path, where, remedy = locate(name)
    key = _cache.stat_key(path)
    cached = _parsed.get(key)
    if cached is not None:
        _parsed.move_to_end(key)
        return cached
    magic, shape, digest = spec
    data = _cache.read_bytes(path, max_bytes)
    array = parse_idx(data, path=path, magic=magic, shape=shape, title=title)
    _cache.verify_once(path, data, digest, where=where, remedy=remedy)
    array.setflags(write=False)
    _parsed[key] = array
    while len(_parsed) > _MAX_PARSED:
        _parsed.popitem(last=False)
    return array


def parse_idx(
    data: bytes, *, path: Path, magic: int, shape: tuple[int, ...], title: str = "MNIST"
) -> np.ndarray:
    """Parse IDX bytes into a uint8 array, checking magic number, dimensions and length.

    Raises ValueError naming `path` when the bytes are not exactly an IDX file of
    unsigned bytes with the expected `shape`.
    """
    what = "images" if magic == IMAGES_MAGIC else "labels"
    article = "an" if title[0] in "AEIMNOS" else "a"
    kind = f"{article} {title} {what} file"
    hint = " Delete it and let cornu download it again, or replace it with a good copy."
    header_len = 4 + 4 * len(shape)
    if len(data) < header_len:
        raise ValueError(
            f"{path} is not {kind}: it is {len(data)} bytes long, shorter "
            f"than the {header_len}-byte IDX header.{hint}"
        )
    found_magic = int.from_bytes(data[:4], "big")
    if found_magic != magic:
        raise ValueError(
            f"{path} is not {kind}: its IDX magic number is {found_magic}, "
            f"expected {magic}.{hint}"
        )
    dims = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, header_len, 4))
    if dims != shape:
        raise ValueError(
            f"{path} is not {kind}: its IDX dimensions are {dims}, "
            f"expected {shape}.{hint}"
        )
    expected_len = header_len + int(np.prod(shape))
    if len(data) != expected_len:
        state = "truncated" if len(data) < expected_len else "too long"
        raise ValueError(
            f"{path} is {state}: it is {len(data)} bytes (uncompressed), {kind} "
            f"of shape {shape} is {expected_len}.{hint}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape)
