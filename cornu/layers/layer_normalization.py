"""LayerNormalization: normalise each sample over `axis` (the features), then scale by
gamma and shift by beta:  y = gamma * (x - mean) / sqrt(var + epsilon) + beta.

With rms_scaling=True: y = gamma * x / sqrt(mean(x**2) + epsilon) (no beta), as Keras 3.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu import initializers, regularizers
from cornu.layers import _args
from cornu.layers.base import Layer, Shape
from cornu.ops._rows import along_rows


class LayerNormalization(Layer):
    supports_masking = True  # hands the input's mask on, as Keras

    float32_compute = True
    weight_names = ("gamma", "beta")

    def __init__(
        self,
        axis: int | tuple[int, ...] | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: str = "zeros",
        gamma_initializer: str = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        axes = _args.axes(axis)
        _args.positive_float(epsilon, "epsilon")
        self.axis = axis if isinstance(axis, int) else list(axes)
        self._axes = axes
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        self.center = bool(center) and not self.rms_scaling
        self.scale = bool(scale) or self.rms_scaling
        self.beta_initializer = initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, "gamma_initializer")
        self.beta_regularizer = regularizers.get(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer = regularizers.get(gamma_regularizer, "gamma_regularizer")

    @property
    def compute_dtype(self) -> str:
        return "float32"  # normalization computes in float32 under a mixed policy, as Keras

    def _positive_axes(self, rank: int) -> tuple[int, ...]:
        return tuple(sorted(a % rank for a in self._axes))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rank = len(input_shape)
        if any(not -rank <= a < rank or a % rank == 0 for a in self._axes):
            raise ValueError(
                f"Layer '{self.name}' (LayerNormalization): axis={self.axis} must name "
                f"feature axes of the input shape {input_shape} (1..{rank - 1}, or -1)."
            )
        if any(input_shape[a] is None for a in self._positive_axes(rank)):
            raise ValueError(
                f"Layer '{self.name}' (LayerNormalization) needs known sizes on axis="
                f"{self.axis}. Received input shape {input_shape}."
            )
        return input_shape

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self.compute_output_shape(input_shape)
        shape = tuple(input_shape[a] for a in self._positive_axes(len(input_shape)))
        self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     name="gamma") if self.scale else None
        self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    name="beta") if self.center else None

    def call(self, x):
        axes = self._positive_axes(x.ndim)
        shape = tuple(x.shape[i] if i in axes else 1 for i in range(x.ndim))
        if self.rms_scaling:
            y = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True)
                                  + self.epsilon)
        else:
            mean = jnp.mean(x, axis=axes, keepdims=True)
            var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
            y = (x - mean) * jax.lax.rsqrt(var + self.epsilon)
        if self.scale:
            y = y * along_rows(jnp.reshape(self.gamma.value, shape), y.shape)
        if self.center:
            y = y + along_rows(jnp.reshape(self.beta.value, shape), y.shape)
        return y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }
