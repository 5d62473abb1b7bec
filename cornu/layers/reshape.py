"""Reshape: each sample to `target_shape` (the batch axis is kept; one entry may be -1)."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from cornu.layers.base import Layer, Shape


class Reshape(Layer):
    def __init__(self, target_shape: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        try:
            dims = tuple(target_shape)
        except TypeError:
            dims = (None,)
        if any(isinstance(d, bool) or not isinstance(d, int) or (d < 1 and d != -1)
               for d in dims) or dims.count(-1) > 1:
            raise ValueError(
                "target_shape must be a tuple of positive integers, with at most one -1 for "
                f"'the rest'. Received: target_shape={target_shape!r}"
            )
        self.target_shape = dims

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)  # eager calls refuse bad shapes too

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if not isinstance(input_shape, tuple) or len(input_shape) < 1:
            raise ValueError(f"Layer '{self.name}' (Reshape) expects one input. "
                             f"Received input shape {input_shape}.")
        rest = input_shape[1:]
        known = math.prod(d for d in self.target_shape if d != -1)
        if None in rest:
            return (input_shape[0], *(None if d == -1 else d for d in self.target_shape))
        size = math.prod(rest)
        free = -1 in self.target_shape
        if (free and size % known) or (not free and size != known):
            need = f"a multiple of {known}" if free else str(known)
            raise ValueError(
                f"Layer '{self.name}' (Reshape) cannot reshape an input of shape "
                f"{input_shape} ({size} values per sample) to target_shape="
                f"{self.target_shape}, which needs {need} values per sample."
            )
        return (input_shape[0], *(size // known if d == -1 else d for d in self.target_shape))

    def call(self, x):
        return jnp.reshape(x, (x.shape[0], *self.target_shape))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
