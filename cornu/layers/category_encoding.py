"""CategoryEncoding: integer category ids as one-hot, multi-hot or count vectors of
`num_tokens` entries, as Keras 3 (`count_weights` weighs the counts)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers.base import Layer, Shape

_MODES = ("one_hot", "multi_hot", "count")


def encode_categorical(ids: Any, depth: int, output_mode: str, dtype: Any,
                       count_weights: Any = None) -> Any:
    """Integer ids as one_hot / multi_hot / count vectors of `depth` entries (Keras'
    encode_categorical_inputs): ids outside [0, depth), such as -1, count nowhere. Shared
    by CategoryEncoding, Discretization, Hashing and the lookup layers."""
    ids = jnp.asarray(ids).astype(jnp.int32)
    if ids.ndim == 0:
        ids = ids[None]
    if output_mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids[..., 0]
        return jax.nn.one_hot(ids, depth, dtype=dtype)
    encoded = jax.nn.one_hot(ids, depth, dtype=dtype)
    axis = 1 if ids.ndim > 1 else 0
    if output_mode == "multi_hot":
        return jnp.max(encoded, axis=axis)
    if count_weights is not None:
        weights = jnp.asarray(count_weights)
        encoded = encoded.astype(weights.dtype) * weights[..., None]
    return jnp.sum(encoded, axis=axis)


class CategoryEncoding(Layer):
    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot",
                 sparse: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if output_mode not in _MODES:
            raise ValueError(f"output_mode must be one of {list(_MODES)}. Received: "
                             f"output_mode={output_mode!r}")
        if num_tokens is None or isinstance(num_tokens, bool) or not isinstance(
                num_tokens, int) or num_tokens < 1:
            raise ValueError("num_tokens must be a positive integer (the number of "
                             f"categories). Received: num_tokens={num_tokens!r}")
        if sparse:
            raise ValueError("sparse=True is not supported: cornu's outputs are dense "
                             "arrays. Received: sparse=True")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, False

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
            return (*shape, self.num_tokens)
        return (*shape[:-1], self.num_tokens)

    def call(self, inputs: Any, count_weights: Any = None) -> Any:
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("count_weights is used only with output_mode='count'. Received "
                             f"output_mode={self.output_mode!r}")
        return encode_categorical(inputs, self.num_tokens, self.output_mode,
                                  self.compute_dtype, count_weights)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}
