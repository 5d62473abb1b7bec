"""UpSampling1D: each step of (batch, steps, channels) repeated `size` times."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class UpSampling1D(Layer):
    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = _args.positive_int(size, "size")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_rank(self, tuple(input_shape), 3, "steps, channels")
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        return jnp.repeat(inputs, self.size, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}
