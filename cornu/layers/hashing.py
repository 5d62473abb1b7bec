"""Hashing: values into `num_bins` bins by a hash, as Keras 3 (whose layer needs
TensorFlow; cornu's does not, and gives the same bins).

Each value is hashed as TensorFlow writes it as a string (integers in decimal; floats
are first truncated to integers, as Keras does): FarmHash Fingerprint64, or SipHash-2-4
keyed by `salt` (an integer or two), modulo the bins (cornu/layers/_hashes.py). With
`mask_value`, that value goes to bin 0 and the others to 1 .. num_bins - 1. The ids are
int32 (Keras: int64); "one_hot"/"multi_hot"/"count" encode them as CategoryEncoding.

Where it runs: strings on the host with NumPy, before any compiled program (a list or
array of str/bytes); numbers inside the compiled step too, through a host callback
(jax.pure_callback) that hashes each distinct value once.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cornu.layers import _hashes
from cornu.layers._preprocessing import as_strings, is_string_data
from cornu.layers.base import Layer, Shape
from cornu.layers.category_encoding import encode_categorical

_MODES = ("int", "one_hot", "multi_hot", "count")


class Hashing(Layer):
    def __init__(self, num_bins: int | None = None, mask_value: Any = None, salt: Any = None,
                 output_mode: str = "int", sparse: bool = False, **kwargs: Any) -> None:
        if kwargs.get("dtype") in ("int32", "int64") or isinstance(kwargs.get("dtype"), dict):
            kwargs.pop("dtype")  # Keras' integer policy of the ids: cornu's are int32
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, int | np.integer) or num_bins <= 0:
            raise ValueError("The num_bins for Hashing cannot be None or non-positive "
                             f"values. Received: num_bins={num_bins!r}.")
        if output_mode not in _MODES:
            raise ValueError(f"Invalid value for argument output_mode. Expected one of "
                             f"{_MODES}. Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError("sparse=True is not supported: cornu's outputs are dense "
                             "arrays. Received: sparse=True")
        if salt is not None:
            if isinstance(salt, tuple | list) and len(salt) == 2 and all(
                    isinstance(s, int) and not isinstance(s, bool) for s in salt):
                salt = [int(s) for s in salt]
            elif isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            else:
                raise ValueError("The salt argument for Hashing can only be a tuple of "
                                 f"size 2 integers, or a single integer. Received: "
                                 f"salt={salt!r}.")
        self.num_bins, self.mask_value, self.salt = int(num_bins), mask_value, salt
        self.output_mode, self.sparse = output_mode, False

    def _bins_host(self, values: np.ndarray) -> np.ndarray:
        """Host: each value's bin, int32."""
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        if values.dtype.kind == "f":
            values = values.astype(np.int64)  # Keras truncates floats to integers first
        key = None if self.salt is None else (self.salt[0], self.salt[1])
        out = _hashes.hash_buckets(values, bins, key)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        return out.astype(np.int32)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        first = args[0] if args else kwargs.get("inputs")
        if is_string_data(first):
            object.__setattr__(self, "built", True)
            strings = as_strings(first)
            return self._encode(jnp.asarray(self._bins_host(strings)))
        return super().__call__(*args, **kwargs)

    def call(self, inputs: Any) -> Any:
        x = jnp.asarray(inputs)
        bins = jax.pure_callback(lambda v: self._bins_host(np.asarray(v)),
                                 jax.ShapeDtypeStruct(x.shape, jnp.int32), x)
        return self._encode(bins)

    def _encode(self, bins: Any) -> Any:
        if self.output_mode == "int":
            return bins
        return encode_categorical(bins, self.num_bins, self.output_mode, self.compute_dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot" and not (shape and shape[-1] == 1):
            return (*shape, self.num_bins)  # CategoryEncoding's one_hot keeps each value
        return (*shape[:-1], self.num_bins)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.output_mode == "int":
            config["dtype"] = "int64"  # Keras' policy for the ids (which Keras requires)
        return {**config, "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": self.sparse}
