"""CIFAR-100: 60,000 32x32 colour images in 100 classes (20 superclasses), as
`keras.datasets.cifar100`.

Read from the binary version of the archive (see `cornu.data.datasets.cifar`), looked up
in `$CORNU_DATA/cifar100/`, the download cache, a clone's `data/cifar100/`, else
downloaded.
"""

from __future__ import annotations

import numpy as np

from cornu.data.datasets import cifar

__all__ = ["load_data"]

ARCHIVE = "cifar-100-binary.tar.gz"
TOP = "cifar-100-binary"
SOURCE = cifar.source(
    "cifar100", "CIFAR-100", ARCHIVE,
    "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",  # 168,513,733 bytes
    200_000_000,
)
RECORDS = {"train.bin": 50000, "test.bin": 10000}


def load_data(label_mode: str = "fine"
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load CIFAR-100 as `(x_train, y_train), (x_test, y_test)`, as Keras does.

    x: uint8 (50000, 32, 32, 3) and (10000, 32, 32, 3), channels last; y: (50000, 1) and
    (10000, 1) of int64, as Keras returns them (its docstring says uint8; its code makes
    int64): the fine labels 0-99 with `label_mode="fine"`, the coarse ones 0-19 with
    `"coarse"`.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError('`label_mode` must be one of "fine", "coarse". '
                         f"Received: label_mode={label_mode!r}")
    size = 2 + 32 * 32 * 3
    path, members = cifar.read_archive(SOURCE, ARCHIVE, TOP,
                                       {n: c * size for n, c in RECORDS.items()})
    out = []
    for name, count in RECORDS.items():
        images, (coarse, fine) = cifar.parse_records(
            members.pop(name), where=f"{path} ({TOP}/{name})", labels=2, max_records=count,
            classes=(20, 100))
        labels = fine if label_mode == "fine" else coarse
        out.append((images, labels.astype(np.int64).reshape(-1, 1)))
    return out[0], out[1]
