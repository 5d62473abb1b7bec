"""ZeroPadding2D: rows of zeros above and below, columns left and right, of
(batch, height, width, channels) images."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class ZeroPadding2D(Layer):
    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _args.pairs(padding, 2, "padding")
        self.data_format = _args.data_format(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_rank(self, tuple(input_shape), 4, "height, width, channels")
        spatial = [None if d is None else d + sum(p)
                   for d, p in zip(input_shape[1:3], self.padding, strict=True)]
        return (input_shape[0], *spatial, input_shape[3])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        return jnp.pad(inputs, ((0, 0), *self.padding, (0, 0)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}
