"""IntegerLookup: integer tokens to indices of a vocabulary (or back, `invert=True`), as
Keras 3.

Arguments, defaults, indices, output modes and errors are Keras' (base_index_lookup.py).
The lookup is jax ops (a searchsorted over the sorted vocabulary), so the layer works
inside a model's compiled step; tokens and indices are int32 there (Keras: int64), so
vocabulary values must fit in int32. `oov_method="farmhash"` hashes unknown tokens as
TensorFlow does (a host callback inside the step).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cornu.layers.base_index_lookup import IndexLookup, invert_integers, lookup_integers

_INT32 = np.iinfo(np.int32)


class IntegerLookup(IndexLookup):
    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: int | None = None, oov_token: int = -1, vocabulary: Any = None,
                 vocabulary_dtype: str = "int64", idf_weights: Any = None,
                 invert: bool = False, output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, oov_method: str = "floormod",
                 salt: Any = None, **kwargs: Any) -> None:
        if vocabulary_dtype != "int64":
            raise ValueError("Only vocabulary_dtype='int64' is supported at this time. "
                             f"Received: vocabulary_dtype={vocabulary_dtype!r}")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token),
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method,
                         salt=salt, **kwargs)

    def _convert_token(self, token: Any) -> Any:
        if isinstance(token, str):
            token = token.strip()
        try:
            value = int(token)
        except (TypeError, ValueError):
            raise ValueError(f"IntegerLookup's vocabulary holds integers. Received the token "
                             f"{token!r}") from None
        if not _INT32.min <= value <= _INT32.max:
            raise ValueError(f"IntegerLookup's tokens must fit in int32 (cornu computes "
                             f"lookups in int32). Received the token {value}")
        return value

    def _host_tokens(self, value: Any) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype.kind not in "iub":
            raise ValueError(f"Layer '{self.name}' (IntegerLookup) takes integer tokens. "
                             f"Received an array of dtype {array.dtype}")
        return array.astype(np.int64)

    def call(self, inputs: Any) -> Any:
        if self.invert:
            return invert_integers(self, inputs)
        return self._encode(lookup_integers(self, inputs))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "vocabulary_dtype": self.vocabulary_dtype}
