"""What Boston and California housing share: an .npz of x and y, shuffled and split."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cornu.data.datasets import _cache, _npz


def check_test_split(test_split) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between "
                         "0 and 1 (exclusive of 1).")


def read(source: _cache.Source, path: str, published: str, max_bytes: int):
    """x and y of the data set's .npz (numeric members only)."""
    if os.path.basename(path) == path and path == published:
        chosen = source
    else:
        chosen = _cache.explicit_source(source, Path(path), published)
    file_path, data = chosen.read(os.path.basename(path))
    arrays = _npz.read_npz(data, path=file_path, members={"x": "numeric", "y": "numeric"},
                           max_bytes=max_bytes)
    x, y = arrays["x"], arrays["y"]
    if len(x) != len(y):
        raise ValueError(f"{file_path} holds {len(x)} samples but {len(y)} targets. Delete "
                         "it and let cornu download it again.")
    return x, y


def split(x, y, test_split, seed):
    """Keras' split: shuffle with RandomState(seed), the first int(n * (1 - test_split))
    for training."""
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n = int(len(x) * (1 - test_split))
    return (x[:n].copy(), y[:n].copy()), (x[n:].copy(), y[n:].copy())
