"""Permute: reorders the non-batch axes; `dims` counts from 1, e.g. Permute((2, 1)) swaps
the two axes of (batch, steps, features)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers.base import Layer, Shape


class Permute(Layer):
    def __init__(self, dims: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            items = tuple(dims)
        except TypeError:
            items = ()
        if not items or any(isinstance(d, bool) or not isinstance(d, int) for d in items) \
                or sorted(items) != list(range(1, len(items) + 1)):
            raise ValueError(
                "dims must be a permutation of 1, ..., rank (axis 0, the batch, stays "
                f"first), e.g. (2, 1). Received: dims={dims!r}")
        self.dims = items

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(
                f"Layer '{self.name}' (Permute) with dims={self.dims} expects inputs of rank "
                f"{len(self.dims) + 1}. Received input shape {tuple(input_shape)}.")
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        return jnp.transpose(inputs, (0, *self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}
