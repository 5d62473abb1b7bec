"""StringLookup: strings to indices of a vocabulary (or back, `invert=True`), as Keras 3.

Arguments, defaults, indices, output modes and errors are Keras' (base_index_lookup.py).
Strings never enter a compiled program: the layer computes on the host with NumPy when
it is called on strings (a list, a NumPy array of str, bytes or objects), and returns a
jax array of indices (int32; Keras gives int64) or vectors, or, inverted, a NumPy array
of str. Inside a model it reads a string Input directly (Input(dtype="string")), and the
model maps the strings with it on the host before the compiled program; any other place
in a model is refused with an error that says to map the strings first (docs/data.md).

Where Keras needs TensorFlow for this layer, cornu needs none; the OOV buckets of
`num_oov_indices > 1` are TensorFlow's FarmHash / SipHash (with `salt`), computed in
Python (cornu/layers/_hashes.py).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from cornu.layers._preprocessing import as_strings, host_call
from cornu.layers.base_index_lookup import IndexLookup


class StringLookup(IndexLookup):
    _strings = True

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: str | None = None, oov_token: str = "[UNK]",
                 vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False,
                 sparse: bool = False, encoding: str = "utf-8", salt: Any = None,
                 **kwargs: Any) -> None:
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, salt=salt,
                         **kwargs)

    def _convert_token(self, token: Any) -> Any:
        if isinstance(token, bytes | np.bytes_):
            return bytes(token).decode(self.encoding)
        return str(token)

    def _host_tokens(self, value: Any) -> np.ndarray:
        return as_strings(value, self.encoding)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return host_call(self, args, kwargs, maps_strings=not self.invert)

    def host_map(self, strings: Any) -> np.ndarray:
        """What the layer makes of `strings`, as NumPy: a model's host step."""
        return np.asarray(self.call(strings))

    def call(self, inputs: Any) -> Any:
        if self.invert:
            ids = np.asarray(inputs)
            return self._inverse_host(ids.astype(np.int64))
        tokens = self._host_tokens(inputs)
        scalar = tokens.ndim == 0
        ids = self._lookup_host(tokens.reshape(1) if scalar else tokens)
        if self.output_mode == "int":
            out = jnp.asarray(ids.astype(np.int32))
            return out[0] if scalar else out
        return self._encode(jnp.asarray(ids.astype(np.int32)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "encoding": self.encoding}
