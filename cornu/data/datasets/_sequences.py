"""What IMDB and Reuters share: the word-index sequences and Keras' arguments over them.

The order of operations, and so the arrays for a seed, are Keras 3's: shuffle with
`numpy.random.RandomState(seed)`, mark starts and shift indices (`start_char`,
`index_from`), drop sequences of `maxlen` words or more, then replace (or, with
`oov_char=None`, drop) words outside `skip_top <= w < num_words`. Two of Keras' quirks
are kept because scripts' numbers depend on them: `maxlen` drops a sequence whose length
(counting the start mark) is not *below* maxlen, and without `num_words` the largest
index in the data is the bound, so that one word becomes `oov_char`.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from cornu.data.datasets import _cache


def check_arguments(kwargs: dict, num_words):
    """Keras 1's `nb_words` still works, with a DeprecationWarning; any other extra
    keyword is refused by name."""
    if "nb_words" in kwargs:
        warnings.warn("nb_words is deprecated; use num_words.", DeprecationWarning,
                      stacklevel=3)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"load_data() got unexpected keyword arguments: "
                        f"{', '.join(sorted(kwargs))}.")
    return num_words


def shuffled(rng: np.random.RandomState, xs: np.ndarray, labels: np.ndarray):
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    return xs[indices], labels[indices]


def mark(xs, start_char, index_from) -> list[list[int]]:
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    return [[w + index_from for w in x] for x in xs]


def drop_long(maxlen, xs, labels):
    kept = [(x, y) for x, y in zip(xs, labels, strict=True) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def limit_words(xs, num_words, skip_top, oov_char) -> list[list[int]]:
    if not num_words:
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(xs: list[list[int]]) -> np.ndarray:
    """A 1-D object array of the lists (always 1-D: numpy would make equal-length lists
    a 2-D array, which Keras returns in that rare case)."""
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = x
    return out


def word_index(source: _cache.Source, file_name: str) -> dict[str, int]:
    """A word-index JSON file, checked and parsed as plain JSON: {word: rank}."""
    path, data = source.read(file_name)
    try:
        index = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}). Delete it and let cornu "
                         "download it again.") from err
    if not isinstance(index, dict) or not all(
            isinstance(k, str) and type(v) is int for k, v in index.items()):
        raise ValueError(f"{path} is not a word index (a JSON object of word: integer). "
                         "Delete it and let cornu download it again.")
    return index
