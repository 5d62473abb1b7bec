"""IMDB movie reviews (25,000 for training, 25,000 for testing), labelled by sentiment,
as `keras.datasets.imdb`: each review a list of word indices, 1 = positive.

Files: imdb.npz and imdb_word_index.json, as Keras publishes them, looked up in
`$CORNU_DATA/imdb/`, the download cache, a clone's `data/imdb/`, else downloaded. The
.npz holds object arrays, which numpy stores as pickles: cornu reads them with its own
restricted reader (`cornu.data.datasets._npz`), never with pickle.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cornu.data.datasets import _cache, _npz, _sequences

__all__ = ["get_word_index", "load_data"]

DATA = "imdb.npz"
WORD_INDEX = "imdb_word_index.json"
SOURCE = _cache.Source(
    "imdb", "IMDB",
    {
        DATA: ("69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
               30_000_000),  # 17,464,789 bytes
        # Keras publishes only an MD5 for the word index
        WORD_INDEX: ("bfafd718b763782e994055a2d397834f", 5_000_000),  # 1,641,221 bytes
    },
    ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
)
_MEMBER_BYTES = 200_000_000
MEMBERS = {"x_train": "int_lists", "y_train": "numeric", "x_test": "int_lists",
           "y_test": "numeric"}


def load_data(path: str = DATA, num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Load IMDB as `(x_train, y_train), (x_test, y_test)` with Keras' arguments.

    x: 1-D object arrays of lists of word indices (the most frequent word is
    `index_from`; `start_char` starts each review); y: integer labels 0/1. `num_words`
    keeps the most frequent words, `skip_top` drops the most frequent ones (both become
    `oov_char`, or are dropped with `oov_char=None`), `maxlen` drops reviews that are
    not shorter than it, `seed` fixes the shuffle (same seed, same arrays as Keras).
    `path` is the file's name in the data folders, or a path to a copy of imdb.npz.
    """
    num_words = _sequences.check_arguments(kwargs, num_words)
    arrays = _read(path)
    rng = np.random.RandomState(seed)
    x_train, labels_train = _sequences.shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = _sequences.shuffled(rng, arrays["x_test"], arrays["y_test"])
    x_train = _sequences.mark(x_train, start_char, index_from)
    x_test = _sequences.mark(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = _sequences.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = _sequences.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, "
                             "no sequence was kept. Increase maxlen.")
    xs = _sequences.limit_words(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    n = len(x_train)
    return ((_sequences.object_array(xs[:n]), labels[:n]),
            (_sequences.object_array(xs[n:]), labels[n:]))


def get_word_index(path: str = WORD_INDEX) -> dict[str, int]:
    """The dict word -> rank of imdb_word_index.json (rank 1 is the most frequent word;
    in `load_data`'s sequences it is `rank + index_from`)."""
    return _sequences.word_index(_source_for(path, WORD_INDEX), os.path.basename(path))


def _read(path: str) -> dict[str, np.ndarray]:
    file_path, data = _source_for(path, DATA).read(os.path.basename(path))
    return _npz.read_npz(data, path=file_path, members=MEMBERS, max_bytes=_MEMBER_BYTES)


def _source_for(path: str, published: str) -> _cache.Source:
    """SOURCE, or (for `path` with a folder in it) a source that looks only there;
    either way the file is checked against the digest of `published`."""
    if os.path.basename(path) == path and path == published:
        return SOURCE
    return _cache.explicit_source(SOURCE, Path(path), published)
