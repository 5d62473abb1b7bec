"""RMSNormalization: each sample divided by its root mean square over `axis`, then scaled:
y = scale * x / sqrt(mean(x ** 2) + epsilon) (Keras 3's; LayerNormalization(rms_scaling=
True) computes the same with a weight named gamma and epsilon=1e-3)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class RMSNormalization(Layer):
    def __init__(self, axis: int | list[int] | tuple[int, ...] = -1, epsilon: float = 1e-6,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = _args.axes(axis)
        _args.positive_float(epsilon, "epsilon")
        # a list, as Keras' config holds it once built
        self.axis = [axis] if isinstance(axis, int) else sorted(axes)
        self.epsilon = float(epsilon)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rank = len(input_shape)
        if any(not -rank <= a < rank or a % rank == 0 for a in self.axis):
            raise ValueError(
                f"Layer '{self.name}' (RMSNormalization): axis={self.axis} must name feature "
                f"axes of the input shape {input_shape} (1..{rank - 1}, or -1).")
        if any(input_shape[a] is None for a in self.axis):
            raise ValueError(
                f"Layer '{self.name}' (RMSNormalization) needs known sizes on axis="
                f"{self.axis}. Received input shape {input_shape}.")
        return input_shape

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self.compute_output_shape(input_shape)
        self.scale = self.add_weight(shape=tuple(input_shape[a] for a in self.axis),
                                     initializer="ones", name="scale")

    def call(self, inputs):
        axes = sorted(a % inputs.ndim for a in self.axis)
        x = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
        y = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True) + self.epsilon)
        shape = tuple(inputs.shape[i] if i in axes else 1 for i in range(inputs.ndim))
        return (y * jnp.reshape(self.scale.value, shape)).astype(inputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
