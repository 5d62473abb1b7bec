"""Flatten: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class Flatten(Layer):
    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if not isinstance(input_shape, tuple) or len(input_shape) < 1:
            raise ValueError(
                f"Layer '{self.name}' (Flatten) expects one input with a batch axis. "
                f"Received input shape {input_shape}."
            )
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def call(self, x):
        return jnp.reshape(x, (x.shape[0], -1))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
