"""The base of StringLookup and IntegerLookup (Keras' IndexLookup): a vocabulary of
tokens, given or learned by `adapt`, and the map token -> index (or back, `invert`).

Indices, as Keras: with output_mode "int" and a mask token, the mask is index 0; then
`num_oov_indices` OOV indices (an unknown token goes to one of them: the only one, or by
floor modulo for integers, or by FarmHash / SipHash with `salt`), then the vocabulary in
order. Other output modes encode the indices as one_hot / multi_hot / count / tf_idf
vectors (the mask token then counts nowhere).

Where it runs: integer tokens are looked up with jax ops (a searchsorted over the sorted
vocabulary), so IntegerLookup works inside the compiled step; strings are looked up on
the host with NumPy (cornu/layers/_preprocessing.py): inside a model, a StringLookup
reads a string Input directly and the model runs it before the compiled program. The
vocabulary is part of the config (Keras writes an adapted one as an asset file of the
.keras archive; cornu reads that file too), so it is saved with the model and bounded
by the config's size limit when read.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu.layers import _hashes
from cornu.layers._preprocessing import adapt_batches
from cornu.layers.base import Layer, Shape
from cornu.layers.category_encoding import encode_categorical

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
#: the largest vocabulary file read by set_vocabulary(path) (lines of text)
MAX_VOCABULARY_FILE_BYTES = 1 << 30


class IndexLookup(Layer):
    _strings = False  # StringLookup: tokens are strings, looked up on the host

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: Any = None, oov_token: Any = None, vocabulary: Any = None,
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt: Any = None,
                 vocabulary_size: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("has_input_vocabulary", None)
        super().__init__(**kwargs)
        kind = type(self).__name__
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(
                max_tokens, int) or max_tokens <= 1):
            raise ValueError(f"If set, max_tokens must be an integer greater than 1 ({kind}). "
                             f"Received: max_tokens={max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, max_tokens must be set. Received: "
                             "max_tokens=None")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, int) or \
                num_oov_indices < 0:
            raise ValueError("num_oov_indices must be an integer >= 0. Received: "
                             f"num_oov_indices={num_oov_indices!r}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError("oov_method must be 'floormod' or 'farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(f"output_mode must be one of {list(_MODES)}. Received: "
                             f"output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError("output_mode must be 'int' when invert is true. Received: "
                             f"output_mode={output_mode!r}")
        if sparse:
            raise ValueError("sparse=True is not supported: cornu's outputs are dense "
                             "arrays. Received: sparse=True")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("idf_weights should only be set if output_mode is 'tf_idf'. "
                             f"Received: output_mode={output_mode!r}")
        if salt is not None:
            if not self._strings and oov_method != "farmhash":
                raise ValueError("salt can only be used when oov_method='farmhash'. "
                                 f"Received: oov_method={oov_method!r}")
            salt = _salt(salt, "IndexLookup")
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError("When specifying the vocabulary argument in output_mode "
                             "'tf_idf', the idf_weights argument must also be provided.")
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode = bool(invert), output_mode
        self.sparse, self.pad_to_max_tokens = False, bool(pad_to_max_tokens)
        self.oov_method, self.salt = oov_method, salt
        self._tokens: list | None = None  # the vocabulary without mask and OOV tokens
        self._idf: np.ndarray | None = None
        self._frozen_vocab_size = vocabulary_size
        self._has_input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- the vocabulary ---------------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The vocabulary's size, mask and OOV indices included."""
        return self._token_start_index() + len(self._tokens or ())

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary; with the special tokens, a token's position is its index."""
        tokens = list(self._tokens or ())
        if not include_special_tokens:
            return tokens
        return ([self.mask_token] * self._oov_start_index()
                + [self.oov_token] * self.num_oov_indices + tokens)

    def _convert_token(self, token: Any) -> Any:
        raise NotImplementedError

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Set the vocabulary (a list or array of tokens, or the path of a text file with
        one token a line) and, for output_mode 'tf_idf', the idf weights."""
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("idf_weights must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError("idf_weights should only be set if output_mode is 'tf_idf'. "
                             f"Received: output_mode={self.output_mode!r}")
        if isinstance(vocabulary, str | Path):
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode 'tf_idf' does not support loading a "
                                 "vocabulary from file.")
            lines = _read_lines(Path(vocabulary))
            tokens = [self._convert_token(line) for line in lines]
            self._set_tokens(tokens, found_special=False)
            return
        values = [self._convert_token(t) for t in np.asarray(vocabulary, dtype=object
                                                                 ).reshape(-1).tolist()]
        if not values:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary="
                             f"{vocabulary!r}")
        start = self._token_start_index()
        special = ([self.mask_token] * self._oov_start_index()
                   + [self.oov_token] * self.num_oov_indices)
        found_special = values[:start] == special
        tokens = values[start:] if found_special else values
        self._set_tokens(tokens, found_special)
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, np.float32)
            if weights.ndim != 1:
                raise ValueError("idf_weights must be a 1-D array. Received shape "
                                 f"{weights.shape}")
            if len(weights) != len(values):
                raise ValueError("idf_weights must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(weights)}; len(vocabulary) is "
                                 f"{len(values)}")
            front = 0 if found_special else start
            fill = 0.0 if found_special else float(np.average(weights))
            back = (self.max_tokens - front - len(weights)
                    if self.pad_to_max_tokens and self.max_tokens is not None else 0)
            self._idf = np.concatenate([np.full(front, fill, np.float32), weights,
                                        np.zeros(max(back, 0), np.float32)])

    def _set_tokens(self, tokens: list, found_special: bool) -> None:
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {repeated}")
        special = ([self.mask_token] * self._oov_start_index()
                   + [self.oov_token] * self.num_oov_indices)
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(
                "Found reserved mask token at unexpected location in vocabulary. Note that "
                "the vocabulary does not need to include the OOV and mask tokens. Either "
                "remove all mask and OOV tokens, or include them only at the start of the "
                f"vocabulary in precisely this order: {special}. Received: mask_token="
                f"{self.mask_token!r} at vocabulary index {tokens.index(self.mask_token)}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError(
                "Found reserved OOV token at unexpected location in vocabulary. Either "
                "remove all mask and OOV tokens, or include them only at the start of the "
                f"vocabulary in precisely this order: {special}. Received: oov_token="
                f"{self.oov_token!r} at vocabulary index {tokens.index(self.oov_token)}")
        size = self._token_start_index() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {size}; max_tokens is "
                             f"{self.max_tokens}.")
        self._tokens = list(tokens)
        self._record_vocabulary_size()

    def load_vocabulary_asset(self, text: str) -> None:
        """The vocabulary of a Keras .keras file's asset (one token a line, the special
        tokens first), as Keras' load_assets; a vocabulary given in the config wins."""
        if self._has_input_vocabulary:
            return
        lines = text.splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        if self.output_mode == "tf_idf":
            raise ValueError("cornu reads no idf weights of a Keras .keras file; save the "
                             "layer with its vocabulary and idf_weights in the config.")
        self.set_vocabulary([self._convert_token(line) for line in lines])

    def _record_vocabulary_size(self) -> None:
        size = self.vocabulary_size()
        fixed = self.output_mode == "int" or self.pad_to_max_tokens
        if not fixed and self.built and self._frozen_vocab_size is not None and \
                size != self._frozen_vocab_size:
            raise RuntimeError(
                f"When using output_mode={self.output_mode!r} and pad_to_max_tokens=False, "
                "the vocabulary size cannot be changed after the layer is called. Old vocab "
                f"size is {self._frozen_vocab_size}, new vocab size is {size}")
        self._frozen_vocab_size = size

    # -- adapt ---------------------------------------------------------------------------------
    def adapt(self, data: Any, batch_size: Any = None, steps: int | None = None) -> None:
        """Learn the vocabulary from `data` (an array or list of tokens, or a source of
        batches): tokens by count, most frequent first, ties by the larger token first,
        cut to max_tokens; with output_mode 'tf_idf' also each token's idf weight."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via the vocabulary argument or set_vocabulary().")
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()
        n_documents = 0
        for i, batch in enumerate(adapt_batches(data, steps, self)):
            rows = self._adapt_rows(batch, whole=i == 0 and _is_array(data))
            for row in rows:
                counts.update(row)
                if self.output_mode == "tf_idf":
                    documents.update(set(row))
            n_documents += len(rows)
        self._learn(counts, documents, n_documents)

    def _adapt_rows(self, batch: Any, whole: bool) -> list[list]:
        """The documents of a batch, each a list of tokens: an array's rows (a 1-D array
        given whole is a column of one-token documents; a 1-D batch is one document)."""
        array = self._host_tokens(batch)
        if array.ndim == 0:
            array = array.reshape(1, 1)
        elif array.ndim == 1:
            array = array[:, None] if whole else array[None, :]
        return [list(row) for row in array.reshape(array.shape[0], -1).tolist()]

    def _learn(self, counts: collections.Counter, documents: collections.Counter,
               n_documents: int) -> None:
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        if not counts:
            self._record_vocabulary_size()
            return
        # most frequent first, ties by the larger token first (Keras' lexsort, reversed)
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        start = self._token_start_index()
        if self.max_tokens:
            tokens = tokens[:self.max_tokens - start]
        self._tokens = tokens
        if self.output_mode == "tf_idf":
            idf = np.log(1 + n_documents / (1 + np.asarray([documents[t] for t in tokens],
                                                              np.float64)))
            idf = idf.astype(np.float32)
            parts = [np.full(start, idf.mean(), np.float32), idf]
            if self.pad_to_max_tokens and self.max_tokens is not None:
                parts.append(np.zeros(self.max_tokens - start - len(idf), np.float32))
            self._idf = np.concatenate(parts)
        self._record_vocabulary_size()

    # -- call ------------------------------------------------------------------------------
    def _host_tokens(self, value: Any) -> np.ndarray:
        """Tokens as a NumPy array (object dtype for strings)."""
        raise NotImplementedError

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return int(self.max_tokens)  # type: ignore[arg-type]
        if self._frozen_vocab_size is None:
            raise RuntimeError(
                f"When using output_mode={self.output_mode!r} and pad_to_max_tokens=False, "
                "you must set the layer's vocabulary before calling it. Either pass a "
                "vocabulary argument to the layer, or call adapt with some sample data.")
        return int(self._frozen_vocab_size)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot":
            if len(shape) > 1 and shape[-1] == 1:
                return (*shape[:-1], depth)
            return (*shape, depth)
        return (*shape[:-1], depth)

    def _encode(self, ids: Any) -> Any:
        """Indices (int mode: as they are) as the output mode's vectors."""
        if self.output_mode == "int":
            return ids
        depth = self._depth()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_categorical(ids, depth, mode, self.compute_dtype)
        if self.output_mode == "tf_idf":
            if self._idf is None:
                raise ValueError("When output_mode is 'tf_idf', idf_weights must be "
                                 "provided (or learned by adapt).")
            idf = jnp.asarray(self._idf[:depth], out.dtype)
            out = out * jnp.reshape(idf, (1,) * (out.ndim - 1) + (depth,))
        return out

    def _oov_of_unknown(self, tokens: np.ndarray) -> np.ndarray:
        """Host: the OOV index of each (unknown) token, num_oov_indices > 1."""
        if not self._strings and self.oov_method != "farmhash":
            buckets = np.mod(tokens.astype(np.int64), self.num_oov_indices)
        else:
            key = None if self.salt is None else tuple(self.salt)
            buckets = _hashes.hash_buckets(tokens, self.num_oov_indices, key)
        return buckets + self._oov_start_index()

    def _lookup_host(self, tokens: np.ndarray) -> np.ndarray:
        """Host lookup token -> index (int64), with Keras' mask and OOV rules."""
        start = self._token_start_index()
        table = {t: start + i for i, t in enumerate(self._tokens or ())}
        unique, inverse = np.unique(tokens.reshape(-1), return_inverse=True)
        found = np.asarray([table.get(u, -1) for u in unique.tolist()], np.int64)
        ids = found[inverse].reshape(tokens.shape)
        unknown = ids < 0
        if self.mask_token is not None:
            is_mask = tokens == self.mask_token
            unknown &= ~is_mask
            ids = np.where(is_mask, 0 if self.output_mode == "int" else -1, ids)
        if unknown.any():
            if self.num_oov_indices == 0:
                raise ValueError(
                    f"When num_oov_indices=0 all inputs should be in vocabulary, found OOV "
                    f"values {tokens[unknown].tolist()[:10]}, consider setting "
                    "num_oov_indices=1.")
            if self.num_oov_indices == 1:
                ids = np.where(unknown, self._oov_start_index(), ids)
            else:
                ids = np.where(unknown, self._oov_of_unknown(tokens), ids)
        return ids

    def _inverse_host(self, ids: np.ndarray) -> np.ndarray:
        """Host lookup index -> token, unknown indices to oov_token, 0 to mask_token."""
        start = self._token_start_index()
        tokens = self._tokens or []
        table = np.asarray([self.oov_token, *tokens], dtype=object)
        position = np.where((ids >= start) & (ids < start + len(tokens)), ids - start + 1, 0)
        out = table[position]
        if self.mask_token is not None:
            out = np.where(ids == 0, np.asarray(self.mask_token, dtype=object), out)
        return out

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> IndexLookup:
        refuse_vocabulary_path(config, cls.__name__)
        return super().from_config(config)  # type: ignore[return-value]

    def get_config(self) -> dict[str, Any]:
        vocabulary = self.get_vocabulary(include_special_tokens=False) if self._tokens \
            else None
        idf = None
        if self._idf is not None and vocabulary is not None:
            start = self._token_start_index()
            idf = [float(w) for w in self._idf[start:start + len(vocabulary)]]
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "idf_weights": idf, "vocabulary": vocabulary,
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method,
                "salt": self.salt}


def refuse_vocabulary_path(config: dict[str, Any], kind: str) -> None:
    """A saved config names no file to read: a vocabulary path there is refused (Keras
    refuses it in safe mode); cornu writes the tokens themselves into configs."""
    if isinstance(config.get("vocabulary"), str):
        raise ValueError(
            f"The config of a {kind} names a vocabulary file ({config['vocabulary']!r}"[:300]
            + "); cornu reads no file named in a saved model. Create the layer in code with "
            "vocabulary=<path>, or save it with its vocabulary (get_config writes the tokens).")


def _salt(salt: Any, kind: str) -> list[int]:
    if isinstance(salt, tuple | list) and len(salt) == 2 and all(
            isinstance(s, int) and not isinstance(s, bool) for s in salt):
        return [int(s) for s in salt]
    if isinstance(salt, int) and not isinstance(salt, bool):
        return [salt, salt]
    raise ValueError(f"The salt argument for {kind} can only be a tuple of 2 integers, or a "
                     f"single integer. Received: salt={salt!r}.")


def _is_array(data: Any) -> bool:
    return isinstance(data, np.ndarray | list | tuple) or hasattr(data, "__array__")


def _read_lines(path: Path) -> list[str]:
    """A vocabulary file's lines, its size bounded before reading."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(f"Vocabulary file {str(path)!r} does not exist or cannot be read: "
                         f"{exc}") from None
    if size > MAX_VOCABULARY_FILE_BYTES:
        raise ValueError(f"Vocabulary file {str(path)!r} has {size} bytes, more than the "
                         f"{MAX_VOCABULARY_FILE_BYTES} a vocabulary may have.")
    with open(path, encoding="utf-8") as fp:
        lines = fp.read(MAX_VOCABULARY_FILE_BYTES + 1).splitlines()
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def lookup_integers(layer: IndexLookup, x: Any) -> Any:
    """Jax lookup of integer tokens (IntegerLookup, inside the compiled step too): a
    searchsorted over the sorted vocabulary; more than one OOV index by floor modulo, or
    by FarmHash/SipHash through a host callback."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        x = x.astype(jnp.int32)
    start = layer._token_start_index()
    tokens = np.asarray(layer._tokens or [], np.int64)
    order = np.argsort(tokens, kind="stable")
    keys = jnp.asarray(tokens[order].astype(np.int32)) if tokens.size else None
    ids = jnp.full(x.shape, -1, jnp.int32)
    if keys is not None:
        values = jnp.asarray((order + start).astype(np.int32))
        pos = jnp.clip(jnp.searchsorted(keys, x), 0, keys.shape[0] - 1)
        ids = jnp.where(keys[pos] == x, values[pos], -1)
    unknown = ids < 0
    if layer.mask_token is not None:
        is_mask = x == layer.mask_token
        unknown = unknown & ~is_mask
        ids = jnp.where(is_mask, 0 if layer.output_mode == "int" else -1, ids)
    if layer.num_oov_indices == 1:
        ids = jnp.where(unknown, layer._oov_start_index(), ids)
    elif layer.num_oov_indices > 1:
        if layer.oov_method == "floormod":
            oov = jnp.mod(x, layer.num_oov_indices) + layer._oov_start_index()
        else:
            oov = jax.pure_callback(
                lambda v: layer._oov_of_unknown(np.asarray(v)).astype(np.int32),
                jax.ShapeDtypeStruct(x.shape, jnp.int32), x)
        ids = jnp.where(unknown, oov, ids)
    elif not isinstance(x, jax.core.Tracer) and bool(jnp.any(unknown)):
        raise ValueError(
            f"When num_oov_indices=0 all inputs should be in vocabulary, found OOV values "
            f"{np.asarray(x)[np.asarray(unknown)].tolist()[:10]}, consider setting "
            "num_oov_indices=1.")
    return ids.astype(jnp.int32)


def invert_integers(layer: IndexLookup, ids: Any) -> Any:
    """Jax lookup index -> integer token (IntegerLookup(invert=True))."""
    ids = jnp.asarray(ids).astype(jnp.int32)
    start = layer._token_start_index()
    tokens = layer._tokens or []
    oov = -1 if layer.oov_token is None else int(layer.oov_token)
    table = jnp.asarray(np.asarray([oov, *tokens], np.int64).astype(np.int32))
    position = jnp.where((ids >= start) & (ids < start + len(tokens)), ids - start + 1, 0)
    out = table[position]
    if layer.mask_token is not None:
        out = jnp.where(ids == 0, int(layer.mask_token), out)
    return out
