"""Reuters newswires (11,228), labelled over 46 topics, as `keras.datasets.reuters`:
each newswire a list of word indices.

Files: reuters.npz and reuters_word_index.json, as Keras publishes them, looked up in
`$CORNU_DATA/reuters/`, the download cache, a clone's `data/reuters/`, else downloaded.
The .npz's object array is read with cornu's restricted reader, never with pickle.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cornu.data.datasets import _cache, _npz, _sequences

__all__ = ["get_label_names", "get_word_index", "load_data"]

DATA = "reuters.npz"
WORD_INDEX = "reuters_word_index.json"
SOURCE = _cache.Source(
    "reuters", "Reuters",
    {
        DATA: ("d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
               10_000_000),  # 2,110,848 bytes
        # Keras publishes only an MD5 for the word index
        WORD_INDEX: ("4d44cc38712099c9e383dc6e5f11a921", 5_000_000),  # 550,378 bytes
    },
    ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
)
_MEMBER_BYTES = 50_000_000
MEMBERS = {"x": "int_lists", "y": "numeric"}
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
    "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass",
    "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum",
    "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
    "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path: str = DATA, num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3, **kwargs):
    """Load Reuters as `(x_train, y_train), (x_test, y_test)` with Keras' arguments.

    The arguments are IMDB's (see `cornu.datasets.imdb.load_data`) plus `test_split`,
    the fraction (0 to 1) of the shuffled newswires kept for testing: the first
    `int(n * (1 - test_split))` are the training set. y: topic labels 0-45
    (`get_label_names()`).
    """
    num_words = _sequences.check_arguments(kwargs, num_words)
    if not 0 <= test_split <= 1:
        raise ValueError(f"test_split must be a fraction between 0 and 1. Received: "
                         f"test_split={test_split}")
    file_path, data = _source_for(path, DATA).read(os.path.basename(path))
    arrays = _npz.read_npz(data, path=file_path, members=MEMBERS, max_bytes=_MEMBER_BYTES)
    xs, labels = _sequences.shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = _sequences.mark(xs, start_char, index_from)
    if maxlen:
        xs, labels = _sequences.drop_long(maxlen, xs, labels)
    xs = _sequences.limit_words(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    return ((_sequences.object_array(xs[:idx]), np.array(labels[:idx])),
            (_sequences.object_array(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path: str = WORD_INDEX) -> dict[str, int]:
    """The dict word -> rank of reuters_word_index.json (rank + `index_from` is the
    word's index in `load_data`'s sequences)."""
    return _sequences.word_index(_source_for(path, WORD_INDEX), os.path.basename(path))


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, at the indices of `load_data`'s labels."""
    return LABEL_NAMES


def _source_for(path: str, published: str) -> _cache.Source:
    if os.path.basename(path) == path and path == published:
        return SOURCE
    return _cache.explicit_source(SOURCE, Path(path), published)

