"""Adaptive pooling: the mean or maximum over windows chosen so that the output has
`output_size` entries per spatial axis whatever the input's size (PyTorch's and Keras'
rule): output i of an axis of n inputs pools inputs floor(i * n / out) up to
ceil((i + 1) * n / out). The windows are boxes, so the pooling runs axis by axis: a mean
as one matrix product per axis, a maximum as one slice per output entry."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


def _windows(n: int, out: int) -> list[tuple[int, int]]:
    return [(i * n // out, math.ceil((i + 1) * n / out)) for i in range(out)]


class BaseAdaptivePooling(Layer):
    rank: int = 2  # spatial axes
    mode: str = "average"  # or "max"

    def __init__(self, output_size: int | tuple[int, ...], data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_size = _args.int_tuple(output_size, self.rank, "output_size")
        self.data_format = _args.data_format(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, tuple(input_shape), self.rank)
        return (input_shape[0], *self.output_size, input_shape[-1])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        x = inputs
        for axis, out in enumerate(self.output_size, start=1):
            windows = _windows(x.shape[axis], out)
            if self.mode == "average":
                weights = np.zeros((x.shape[axis], out), np.float32)
                for i, (start, end) in enumerate(windows):
                    weights[start:end, i] = 1.0 / (end - start)
                moved = jnp.moveaxis(x, axis, -1)
                x = jnp.moveaxis(jnp.matmul(moved, jnp.asarray(weights, x.dtype)), -1, axis)
            else:
                parts = [jnp.max(jnp.take(x, jnp.arange(start, end), axis=axis), axis=axis,
                                 keepdims=True) for start, end in windows]
                x = jnp.concatenate(parts, axis=axis)
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": list(self.output_size),
                "data_format": self.data_format}
