"""California housing prices (20,640 block groups of the 1990 census, 8 features), as
`keras.datasets.california_housing`.

File: california_housing.npz as Keras publishes it, looked up in
`$CORNU_DATA/california_housing/`, the download cache, a clone's
`data/california_housing/`, else downloaded.
"""

from __future__ import annotations

from cornu.data.datasets import _cache, _tables

__all__ = ["load_data"]

DATA = "california_housing.npz"
SOURCE = _cache.Source(
    "california_housing", "California housing",
    {DATA: ("1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
            10_000_000)},  # 743,530 bytes
    ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
)


def load_data(version="large", path: str = DATA, test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)`: x (n, 8), y (n,) (median house values in
    dollars), in the file's dtypes. `version="small"` keeps the first 600 samples,
    `"large"` all 20,640; shuffled with `seed` as Keras does, the last `test_split` for
    testing."""
    if version not in ("small", "large"):
        raise ValueError("Argument `version` must be one of 'small', 'large'. "
                         f"Received: version={version!r}")
    _tables.check_test_split(test_split)
    x, y = _tables.read(SOURCE, path, DATA, 50_000_000)
    if version == "small":
        x, y = x[:600], y[:600]
    return _tables.split(x, y, test_split, seed)
