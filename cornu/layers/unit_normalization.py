"""UnitNormalization: each sample scaled to unit L2 norm over `axis`:
y = x / sqrt(sum(x ** 2)), the factor capped at 1e12 so an all-zero slice stays zero."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers.base import Layer, Shape

_MAX_SCALE = 1e12  # 1 / epsilon with Keras' epsilon=1e-12


class UnitNormalization(Layer):
    supports_masking = True

    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = (axis,) if isinstance(axis, int) else axis
        try:
            axes = tuple(axes)
        except TypeError:
            axes = ("?",)
        if not axes or any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
            raise ValueError(f"axis must be an integer or a list of integers. "
                             f"Received: axis={axis!r}")
        self.axis = axis if isinstance(axis, int) else list(axes)
        self._axes = axes

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rank = len(input_shape)
        if any(not -rank <= a < rank for a in self._axes):
            raise ValueError(
                f"Layer '{self.name}' (UnitNormalization): axis={self.axis} is out of range "
                f"for the input shape {input_shape} of rank {rank}.")
        return input_shape

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        axes = tuple(a % inputs.ndim for a in self._axes)
        squares = jnp.sum(jnp.square(inputs), axis=axes, keepdims=True)
        return inputs * jnp.minimum(jax.lax.rsqrt(squares), _MAX_SCALE)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
