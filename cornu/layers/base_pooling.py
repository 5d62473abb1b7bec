"""Max and average pooling over the spatial axes of channels_last inputs (lax.reduce_window)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class BasePooling(Layer):
    rank: int = 2
    mode: str = "max"  # or "average"

    def __init__(
        self,
        pool_size: int | tuple[int, ...] = 2,
        strides: int | tuple[int, ...] | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool_size = _args.int_tuple(pool_size, self.rank, "pool_size")
        # Keras: strides=None means strides=pool_size
        self.strides = (self.pool_size if strides is None
                        else _args.int_tuple(strides, self.rank, "strides"))
        self.padding = _args.padding(padding)
        self.data_format = _args.data_format(data_format)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)  # eager calls refuse bad shapes too

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, input_shape, self.rank)
        spatial = _args.spatial_output_shape(
            self, input_shape, self.pool_size, self.strides, (1,) * self.rank, self.padding,
            "pool_size")
        return (input_shape[0], *spatial, input_shape[-1])

    def call(self, x):
        # One strided slice per position in the window, combined elementwise. Same values
        # as lax.reduce_window, but its gradient is elementwise too: reduce_window's max
        # gradient (select_and_scatter) is ~30x slower on XLA:CPU.
        window = (1, *self.pool_size, 1)
        strides = (1, *self.strides, 1)
        pads = lax.padtype_to_pads(x.shape, window, strides, self.padding.upper())
        if self.mode == "max":
            return _combine(_pad(x, -np.inf, pads), window, strides, jnp.maximum)
        total = _combine(_pad(x, 0, pads), window, strides, jnp.add)
        if self.padding == "valid":
            return total / float(np.prod(self.pool_size))
        # 'same': divide by the number of real (unpadded) inputs in each window, as Keras
        ones = np.ones((1, *x.shape[1:-1], 1), np.float32)
        ones = np.pad(ones, [(lo, hi) for lo, hi in pads])
        count = _combine(ones, window, strides, np.add)
        return total / jnp.asarray(count, x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}


def _pad(x, value, pads):
    """x padded with `value`; no pad op where the padding is zero. jnp.pad (the same pad
    op for XLA) rather than lax.pad: jax2onnx converts jnp.pad at a symbolic batch size,
    but not lax.pad (ONNX exports of 'same' pooling)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    return jnp.pad(x, [(lo, hi) for lo, hi in pads], constant_values=np.array(value, x.dtype))


def _combine(x, window, strides, op):
    """op-reduce the windows of x (already padded) with one strided slice per offset."""
    out_shape = [(n - w) // s + 1 for n, w, s in zip(x.shape, window, strides, strict=True)]
    result = None
    for offset in np.ndindex(*window):
        limit = [o + s * (m - 1) + 1 for o, s, m in zip(offset, strides, out_shape, strict=True)]
        if isinstance(x, np.ndarray):
            part = x[tuple(slice(o, e, s) for o, e, s in zip(offset, limit, strides,
                                                               strict=True))]
        else:
            part = lax.slice(x, offset, limit, strides)
        result = part if result is None else op(result, part)
    return result
