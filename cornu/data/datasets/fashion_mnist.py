"""Fashion-MNIST: Zalando's 70,000 28x28 grayscale images of 10 kinds of clothing.

`load_data()` returns Keras' tuple `(x_train, y_train), (x_test, y_test)` of uint8
arrays, shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,); labels 0-9:
T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.

The four IDX files have MNIST's names and format and are looked up like MNIST's, in the
folder `fashion-mnist` (Keras' and Debian's name for it): `$CORNU_DATA/fashion-mnist/`,
the download cache, a clone's `data/fashion-mnist/`, else downloaded. Debian's package
dataset-fashion-mnist installs the published files in /usr/share/datasets/fashion-mnist/,
so `CORNU_DATA=/usr/share/datasets` uses them. Each file is checked against the sha256
of its uncompressed content (the same for the published .gz files and Debian's, whose
gzip wrapping differs).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cornu.data.datasets import _cache, _idx

__all__ = ["CLASS_NAMES", "load_data"]

NAME = "fashion-mnist"
MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# file name -> (IDX magic number, shape, sha256 of the uncompressed content)
FILES: dict[str, tuple[int, tuple[int, ...], str]] = {
    TRAIN_IMAGES: (_idx.IMAGES_MAGIC, (60000, 28, 28),
                   "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    TRAIN_LABELS: (_idx.LABELS_MAGIC, (60000,),
                   "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    TEST_IMAGES: (_idx.IMAGES_MAGIC, (10000, 28, 28),
                  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    TEST_LABELS: (_idx.LABELS_MAGIC, (10000,),
                  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}
MAX_BYTES = 60_000_000  # the train images are 47,040,016 bytes uncompressed


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST as `(x_train, y_train), (x_test, y_test)`, as Keras does.

    Shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,), all uint8, labels
    0-9 (`CLASS_NAMES`). Each call returns fresh arrays the caller may modify.

    Raises:
        DatasetUnavailableError: a file is neither on disk nor downloadable; the message
            names the folder to put the four files in.
        ChecksumError: a file has the wrong content.
        ValueError: a file is not a well-formed IDX file of the expected shape.
    """
    x_train, y_train, x_test, y_test = _idx.load(
        FILE_NAMES, _locate, FILES, title="Fashion-MNIST", max_bytes=MAX_BYTES
    )
    return (x_train, y_train), (x_test, y_test)


def mirrors() -> tuple[str, ...]:
    """`$CORNU_FASHION_MNIST_MIRROR` if set, else `MIRRORS`."""
    override = os.environ.get(_cache.mirror_variable(NAME))
    return (override,) if override else MIRRORS


def _locate(name: str) -> tuple[Path, str, str]:
    return _cache.locate(
        NAME, "Fashion-MNIST", name, all_files=FILE_NAMES, mirrors=mirrors(),
        expected=FILES[name][2], max_bytes=MAX_BYTES, gzipped=True,
    )
