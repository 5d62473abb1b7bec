"""Boston housing prices (506 areas, 13 features), as `keras.datasets.boston_housing`.

Keras warns against this data set: one of its features ("B") encodes an assumption about
race. It is here so that scripts that use it run; prefer `california_housing`.

File: boston_housing.npz as Keras publishes it, looked up in `$CORNU_DATA/boston_housing/`,
the download cache, a clone's `data/boston_housing/`, else downloaded.
"""

from __future__ import annotations

from cornu.data.datasets import _cache, _tables

__all__ = ["load_data"]

DATA = "boston_housing.npz"
SOURCE = _cache.Source(
    "boston_housing", "Boston housing",
    {DATA: ("f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
            1_000_000)},  # 57,026 bytes
    ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
)


def load_data(path: str = DATA, test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)`: x float64 (n, 13), y float64 (n,) (median
    values in k$); shuffled with `seed` as Keras does, the last `test_split` for testing
    (404 and 102 samples by default)."""
    _tables.check_test_split(test_split)
    x, y = _tables.read(SOURCE, path, DATA, 10_000_000)
    return _tables.split(x, y, test_split, seed)
