"""CIFAR-10: 60,000 32x32 colour images in 10 classes, as `keras.datasets.cifar10`.

Read from the binary version of the archive (see `cornu.data.datasets.cifar`), looked up
in `$CORNU_DATA/cifar10/`, the download cache, a clone's `data/cifar10/`, else downloaded.
"""

from __future__ import annotations

import numpy as np

from cornu.data.datasets import cifar

__all__ = ["CLASS_NAMES", "load_data"]

ARCHIVE = "cifar-10-binary.tar.gz"
TOP = "cifar-10-batches-bin"
SOURCE = cifar.source(
    "cifar10", "CIFAR-10", ARCHIVE,
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",  # 170,052,171 bytes
    200_000_000,
)
TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST = "test_batch.bin"
RECORDS_PER_BATCH = 10000
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck")


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-10 as `(x_train, y_train), (x_test, y_test)`, as Keras does.

    x: uint8 (50000, 32, 32, 3) and (10000, 32, 32, 3), channels last, pixels 0-255;
    y: uint8 (50000, 1) and (10000, 1), labels 0-9 (`CLASS_NAMES`).

    Raises:
        DatasetUnavailableError: the archive is neither on disk nor downloadable.
        ChecksumError: the archive has the wrong content.
        ValueError: the archive is malformed (truncated, links, paths leaving its folder).
    """
    size = RECORDS_PER_BATCH * (1 + 32 * 32 * 3)
    path, members = cifar.read_archive(SOURCE, ARCHIVE, TOP,
                                       {name: size for name in (*TRAIN, TEST)})
    parts = [cifar.parse_records(members.pop(name), where=f"{path} ({TOP}/{name})", labels=1,
                                 max_records=RECORDS_PER_BATCH, classes=(10,))
             for name in (*TRAIN, TEST)]
    x_train = np.concatenate([images for images, _ in parts[:-1]])
    y_train = np.concatenate([labels[0] for _, labels in parts[:-1]]).reshape(-1, 1)
    x_test, (y_test,) = parts[-1]
    return (x_train, y_train), (x_test, y_test.reshape(-1, 1))
