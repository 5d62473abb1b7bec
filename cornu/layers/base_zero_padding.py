"""Zeros added before and after each spatial axis of channels_last inputs: the shared part of
ZeroPadding1D, ZeroPadding2D and ZeroPadding3D."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class BaseZeroPadding(Layer):
    rank: int = 2  # spatial axes

    def __init__(self, padding: Any = 1, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pads = _args.pairs(padding, self.rank, "padding")
        # as Keras: one (before, after) pair for 1-D, a pair per axis otherwise
        self.padding = pads[0] if self.rank == 1 else pads
        self.data_format = _args.data_format(data_format)

    def _pairs(self) -> tuple[tuple[int, int], ...]:
        return (self.padding,) if self.rank == 1 else self.padding

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, tuple(input_shape), self.rank)
        spatial = [None if d is None else d + sum(p)
                   for d, p in zip(input_shape[1:-1], self._pairs(), strict=True)]
        return (input_shape[0], *spatial, input_shape[-1])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        return jnp.pad(inputs, ((0, 0), *self._pairs(), (0, 0)))

    def get_config(self) -> dict[str, Any]:
        padding = list(self.padding) if self.rank == 1 else [list(p) for p in self.padding]
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}
