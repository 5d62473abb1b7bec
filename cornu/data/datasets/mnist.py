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
from pathlib import Path

import numpy as np

from cornu.data.datasets import _cache, _idx
from cornu.data.datasets._idx import parse_idx

__all__ = ["load_data", "parse_idx"]

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
_IMAGES_MAGIC = _idx.IMAGES_MAGIC
_LABELS_MAGIC = _idx.LABELS_MAGIC
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
    x_train, y_train, x_test, y_test = _idx.load(
        FILE_NAMES, lambda name: _locate(name), _FILES, title="MNIST", max_bytes=_MAX_BYTES
    )
    return (x_train, y_train), (x_test, y_test)


def mirrors() -> tuple[str, ...]:
    """The base URLs to download from: `$CORNU_MNIST_MIRROR` if set, else `MIRRORS`."""
    override = os.environ.get("CORNU_MNIST_MIRROR")
    return (override,) if override else MIRRORS


def _locate(name: str) -> tuple[Path, str, str]:
    """(file on disk for `name`, how its folder was chosen, advice for a bad file);
    downloads the file into the cache folder when no folder holds it."""
    return _cache.locate(
        "mnist", "MNIST", name, all_files=FILE_NAMES, mirrors=mirrors(),
        expected=_FILES[name][2], max_bytes=_MAX_BYTES, gzipped=True,
    )

