"""ZeroPadding1D: zeros added before and after the steps axis of (batch, steps, channels)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class ZeroPadding1D(Layer):
    def __init__(self, padding: int | tuple[int, int] = 1, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        (self.padding,) = _args.pairs(padding, 1, "padding")
        self.data_format = _args.data_format(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_rank(self, tuple(input_shape), 3, "steps, channels")
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps + sum(self.padding),
                input_shape[2])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        return jnp.pad(inputs, ((0, 0), self.padding, (0, 0)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": list(self.padding),
                "data_format": self.data_format}
