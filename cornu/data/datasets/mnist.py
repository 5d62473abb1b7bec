"""MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

`load_data()` returns Keras' tuple `(x_train, y_train), (x_test, y_test)` of uint8
arrays. Each of the four IDX files (plain or gzipped) is looked up in

1. `$CORNU_DATA/mnist/`, when the environment variable CORNU_DATA is set;
2. the cache folder: `$CORNU_CACHE_DIR` when set, else
   `$XDG_CACHE_HOME/cornu/datasets/mnist`, else `~/.cache/cornu/datasets/mnist`;
3. the copy shipped in the repository, `data/mnist/`, when cornu is imported from a
   clone (`make demo`, the tests, the benchmarks; see `_cache.clone_data_dir`). A
   pip-installed cornu has no such copy: the data are not in the wheel;
4. otherwise it is downloaded into the cache folder from the first mirror that
   works (`MIRRORS`, or the one URL in `$CORNU_MNIST_MIRROR`).

Every file is checked against the sha256 of its uncompressed content wherever it was
found (once per process per file version) and parsed strictly as IDX; nothing is
unpickled or evaluated. Offline without the files, the error says in one paragraph
where to put them.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from cornu.data.datasets import _cache
from cornu.data.datasets._cache import DatasetUnavailableError

__all__ = ["load_data"]

MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# file name -> (IDX magic number, shape, sha256 of the uncompressed content)
_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
_FILES: dict[str, tuple[int, tuple[int, ...], str]] = {
    TRAIN_IMAGES: (
        _IMAGES_MAGIC,
        (60000, 28, 28),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    TRAIN_LABELS: (
        _LABELS_MAGIC,
        (60000,),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    TEST_IMAGES: (
        _IMAGES_MAGIC,
        (10000, 28, 28),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    TEST_LABELS: (
        _LABELS_MAGIC,
        (10000,),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}
# The largest file (train images) is 47,040,016 bytes; nothing bigger is ever read.
_MAX_BYTES = 60_000_000

_lock = threading.Lock()
_parsed: OrderedDict[tuple, np.ndarray] = OrderedDict()  # stat key -> read-only array
_MAX_PARSED = 8


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST as `(x_train, y_train), (x_test, y_test)`.

    Shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,), all uint8; labels are
    the digits 0-9. Each call returns fresh arrays (the parsed files are kept in
    memory, so later calls are fast), which the caller may modify.

    Raises:
        DatasetUnavailableError: (an OSError subclass, from
            `cornu.data.datasets`) a file is neither on disk nor downloadable. The
            message names the folder to put the four files in.
        ChecksumError: (a ValueError subclass) a file on disk, or a downloaded one,
            has the wrong content.
        ValueError: a file is not a well-formed MNIST IDX file.
    """
    with _lock:
        x_train, y_train, x_test, y_test = (_load_file(name).copy() for name in FILE_NAMES)
    return (x_train, y_train), (x_test, y_test)


def mirrors() -> tuple[str, ...]:
    """The base URLs to download from: `$CORNU_MNIST_MIRROR` if set, else `MIRRORS`."""
    override = os.environ.get("CORNU_MNIST_MIRROR")
    return (override,) if override else MIRRORS


def _load_file(name: str) -> np.ndarray:
    path, where, remedy = _locate(name)
    key = _cache.stat_key(path)
    cached = _parsed.get(key)
    if cached is not None:
        _parsed.move_to_end(key)
        return cached
    magic, shape, digest = _FILES[name]
    data = _cache.read_bytes(path, _MAX_BYTES)
    array = parse_idx(data, path=path, magic=magic, shape=shape)
    _cache.verify_once(path, data, digest, where=where, remedy=remedy)
    array.setflags(write=False)
    _parsed[key] = array
    while len(_parsed) > _MAX_PARSED:
        _parsed.popitem(last=False)
    return array


_REPLACE = "replace it with a good copy, or delete it and let cornu download it again."


def _folders() -> list[tuple[Path, str, str]]:
    """(folder, how it was chosen, what to do about a bad file there), in lookup order."""
    folders = []
    if (data_folder := _cache.data_dir("mnist")) is not None:
        folders.append((data_folder, "$CORNU_DATA/mnist/", _REPLACE))
    folders.append((_cache.cache_dir("mnist"), "cornu's download cache", _REPLACE))
    if (clone_folder := _cache.clone_data_dir("mnist")) is not None:
        folders.append((
            clone_folder,
            "the copy shipped in this clone of cornu",
            "restore it with `git checkout -- data/mnist` in the clone, or put good "
            "copies in $CORNU_DATA/mnist/ or the download cache, which come first.",
        ))
    return folders


def _locate(name: str) -> tuple[Path, str, str]:
    """(file on disk for `name`, how its folder was chosen, advice for a bad file);
    downloads the file into the cache folder when no folder holds it."""
    folders = _folders()
    for folder, where, remedy in folders:
        if (found := _cache.find_file(folder, name)) is not None:
            return found, where, remedy
    cache_folder = _cache.cache_dir("mnist")
    try:
        path = _cache.download(name, mirrors(), cache_folder, _FILES[name][2], _MAX_BYTES)
    except DatasetUnavailableError as err:
        searched = ", ".join(str(folder) for folder, _, _ in folders)
        # `from None`: one paragraph that says what to do, not a chained traceback
        raise DatasetUnavailableError(
            f"MNIST is not on this machine and could not be downloaded ({err}). Put "
            f"the four files {', '.join(FILE_NAMES)} (gzipped as published, with the "
            f".gz suffix, or plain) in {cache_folder}, or set the environment variable "
            f"CORNU_DATA to a folder that holds mnist/ with them. ({name} was looked "
            f"for in {searched}.)"
        ) from None
    return path, "cornu's download cache", _REPLACE


def parse_idx(data: bytes, *, path: Path, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """Parse IDX bytes into a uint8 array, checking magic number, dimensions and length.

    Raises ValueError naming `path` when the bytes are not exactly an IDX file of
    unsigned bytes with the expected `shape`.
    """
    what = "images" if magic == _IMAGES_MAGIC else "labels"
    hint = " Delete it and let cornu download it again, or replace it with a good copy."
    header_len = 4 + 4 * len(shape)
    if len(data) < header_len:
        raise ValueError(
            f"{path} is not an MNIST {what} file: it is {len(data)} bytes long, shorter "
            f"than the {header_len}-byte IDX header.{hint}"
        )
    found_magic = int.from_bytes(data[:4], "big")
    if found_magic != magic:
        raise ValueError(
            f"{path} is not an MNIST {what} file: its IDX magic number is {found_magic}, "
            f"expected {magic}.{hint}"
        )
    dims = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, header_len, 4))
    if dims != shape:
        raise ValueError(
            f"{path} is not an MNIST {what} file: its IDX dimensions are {dims}, "
            f"expected {shape}.{hint}"
        )
    expected_len = header_len + int(np.prod(shape))
    if len(data) != expected_len:
        state = "truncated" if len(data) < expected_len else "too long"
        raise ValueError(
            f"{path} is {state}: it is {len(data)} bytes (uncompressed), an MNIST "
            f"{what} file of shape {shape} is {expected_len}.{hint}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape)
