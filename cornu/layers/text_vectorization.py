"""TextVectorization: texts to sequences of token ids, or to multi_hot / count / tf_idf
vectors, with a vocabulary from `adapt` or given, as Keras 3 (whose layer needs
TensorFlow; cornu's does not).

The steps, Keras': standardize ("lower_and_strip_punctuation", "lower",
"strip_punctuation", None or a callable on a NumPy array of str; "lower" lowercases ASCII
letters only, as tf.strings.lower), split ("whitespace", "character", None or a callable
that takes a NumPy array of str and returns a list of token lists), ngrams (an integer n
for 1..n-grams, or a tuple of sizes; the tokens joined by a space), then the lookup of a
StringLookup whose mask token is "" (index 0) and OOV token "[UNK]" (index 1). In "int"
mode a batch is padded with 0 to its longest text, or cut and padded to
`output_sequence_length`.

Strings stay on the host: everything runs in Python/NumPy when the layer is called on
texts, and the result is a jax array (ids int32; Keras gives int64). Inside a model the
layer reads a string Input directly, `Sequential([Input(shape=(1,), dtype="string"),
vectorizer, Embedding(...), ...])`, and the model vectorizes each batch on the host
before the compiled program (docs/data.md); elsewhere in a model it is refused.
"""

from __future__ import annotations

import collections
import re
from typing import Any

import jax.numpy as jnp
import numpy as np

from cornu.layers._preprocessing import adapt_batches, as_strings, host_call
from cornu.layers.base import Layer, Shape
from cornu.layers.base_index_lookup import refuse_vocabulary_path
from cornu.layers.string_lookup import StringLookup

_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class TextVectorization(Layer):
    def __init__(self, max_tokens: int | None = None,
                 standardize: Any = "lower_and_strip_punctuation", split: Any = "whitespace",
                 ngrams: int | tuple[int, ...] | None = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Any = None, idf_weights: Any = None, sparse: bool = False,
                 ragged: bool = False, encoding: str = "utf-8",
                 vocabulary_size: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("has_input_vocabulary", None)
        super().__init__(**kwargs)
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"standardize must be one of {list(_STANDARDIZE)}, None or a "
                             f"callable. Received: standardize={standardize!r}")
        if not (split is None or callable(split) or split in _SPLIT):
            raise ValueError(f"split must be one of {list(_SPLIT)}, None or a callable. "
                             f"Received: split={split!r}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(f"output_mode must be one of {list(_MODES)}. Received: "
                             f"output_mode={output_mode!r}")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool)
                                   and ngrams > 0) or (
                isinstance(ngrams, tuple) and ngrams and all(
                    isinstance(n, int) and not isinstance(n, bool) and n > 0
                    for n in ngrams))):
            raise ValueError("ngrams must be None, a positive integer, or a tuple of positive "
                             f"integers. Received: ngrams={ngrams!r}")
        if output_mode == "int" and not (output_sequence_length is None or (
                isinstance(output_sequence_length, int)
                and not isinstance(output_sequence_length, bool)
                and output_sequence_length > 0)):
            raise ValueError("output_sequence_length must be either None or a positive "
                             "integer when output_mode is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length!r}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("output_sequence_length must not be set if output_mode is not "
                             f"'int'. Received output_sequence_length={output_sequence_length}.")
        if ragged:
            raise ValueError("ragged=True is not supported: cornu's outputs are dense arrays "
                             "(padded with 0). Received: ragged=True")
        self.standardize, self.split = standardize, split
        self.ngrams = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.encoding, self.ragged = encoding, False
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            sparse=sparse, encoding=encoding, vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup")

    # -- the vocabulary -------------------------------------------------------------------
    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def load_vocabulary_asset(self, text: str) -> None:
        """The vocabulary Keras wrote as this layer's asset in a .keras file."""
        self._lookup_layer.load_vocabulary_asset(text)

    def adapt(self, data: Any, batch_size: Any = None, steps: int | None = None) -> None:
        """Learn the vocabulary from texts: an array or list of them, or a source of
        batches (generator, PyDataset, iterable); each text is one document."""
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via the vocabulary argument or set_vocabulary().")
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()
        n_documents = 0
        for batch in adapt_batches(data, steps, self):
            texts = as_strings(batch, self.encoding)
            if texts.ndim == 0:
                texts = texts.reshape(1)
            rows = self._tokens(texts)
            if isinstance(rows, np.ndarray):
                rows = [list(r) for r in rows.reshape(rows.shape[0], -1).tolist()]
            for row in rows:
                counts.update(row)
                if self.output_mode == "tf_idf":
                    documents.update(set(row))
            n_documents += len(rows)
        lookup._learn(counts, documents, n_documents)

    # -- the steps ------------------------------------------------------------------------
    def _standardized(self, texts: np.ndarray) -> np.ndarray:
        if self.standardize is None:
            return texts
        if callable(self.standardize):
            return as_strings(self.standardize(texts), self.encoding)
        out = np.empty(texts.shape, dtype=object)
        flat_in, flat_out = texts.reshape(-1), out.reshape(-1)
        for i, text in enumerate(flat_in):
            if self.standardize in ("lower", "lower_and_strip_punctuation"):
                text = text.translate(_ASCII_LOWER)
            if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
                text = _PUNCTUATION.sub("", text)
            flat_out[i] = text
        return out

    def _tokens(self, texts: np.ndarray) -> Any:
        """Standardized, split and n-grammed texts: a list of token lists (one a text), or
        with split=None the array of standardized texts."""
        texts = self._standardized(texts)
        if self.split is None:
            if self._ngrams is not None:
                raise ValueError("ngrams need split: pass split='whitespace' (or another) "
                                 "with ngrams.")
            return texts
        if texts.ndim > 1:
            if texts.shape[-1] != 1:
                raise ValueError("When using TextVectorization to tokenize strings, the input "
                                 "rank must be 1 or the last shape dimension must be 1. "
                                 f"Received: inputs.shape={texts.shape}")
            texts = texts[..., 0]
        texts = texts.reshape(-1)
        if callable(self.split):
            rows = [[str(t) for t in row] for row in self.split(texts)]
        elif self.split == "whitespace":
            rows = [text.split() for text in texts.tolist()]
        else:
            rows = [list(text) for text in texts.tolist()]
        if self._ngrams is not None:
            rows = [[" ".join(row[i:i + n]) for n in self._ngrams
                     for i in range(len(row) - n + 1)] for row in rows]
        return rows

    # -- call -----------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return host_call(self, args, kwargs, maps_strings=True)

    def host_map(self, strings: Any) -> np.ndarray:
        """What the layer makes of `strings`, as NumPy: a model's host step."""
        return np.asarray(self.call(strings))

    def call(self, inputs: Any) -> Any:
        texts = as_strings(inputs, self.encoding)
        if texts.ndim == 0:
            texts = texts.reshape(1)
        lookup = self._lookup_layer
        tokens = self._tokens(texts)
        if isinstance(tokens, np.ndarray):  # split=None: one token a text
            ids = lookup._lookup_host(tokens)
            if self.output_mode == "int" and self.output_sequence_length is not None:
                ids = _fit_length(ids, self.output_sequence_length)
            return lookup._encode(jnp.asarray(ids.astype(np.int32)))
        rows = [lookup._lookup_host(np.asarray(row, dtype=object)) if row else
                np.zeros(0, np.int64) for row in tokens]
        length = self.output_sequence_length
        if length is None:
            length = max((len(r) for r in rows), default=0)
        pad = 0 if self.output_mode == "int" else -1
        ids = np.full((len(rows), length), pad, np.int64)
        for i, row in enumerate(rows):
            ids[i, :min(len(row), length)] = row[:length]
        return lookup._encode(jnp.asarray(ids.astype(np.int32)))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return (shape[0], self.output_sequence_length)
        if self.split is None:
            if len(shape) <= 1:
                shape = (*shape, 1)
        else:  # call splits each text (a trailing axis of 1 included) into one row
            shape = (shape[0] if shape else 1, None)
        return self._lookup_layer.compute_output_shape(shape)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        refuse_vocabulary_path(config, cls.__name__)
        return super().from_config(config)  # type: ignore[return-value]

    def get_config(self) -> dict[str, Any]:
        lookup = self._lookup_layer.get_config()
        return {**super().get_config(), "max_tokens": lookup["max_tokens"],
                "standardize": self.standardize, "split": self.split, "ngrams": self.ngrams,
                "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": lookup["pad_to_max_tokens"], "sparse": False,
                "ragged": False, "vocabulary": lookup["vocabulary"],
                "idf_weights": lookup["idf_weights"], "encoding": self.encoding,
                "vocabulary_size": self.vocabulary_size()}


def _fit_length(ids: np.ndarray, length: int) -> np.ndarray:
    """Cut or pad (with 0) the last axis to `length`."""
    ids = ids[..., :length]
    if ids.shape[-1] < length:
        pad = [(0, 0)] * (ids.ndim - 1) + [(0, length - ids.shape[-1])]
        ids = np.pad(ids, pad)
    return ids
