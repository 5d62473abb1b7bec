"""LayerNormalization: normalise each sample over `axis` (the features), then scale by
gamma and shift by beta:  y = gamma * (x - mean) / sqrt(var + epsilon) + beta.

With rms_scaling=True: y = gamma * x / sqrt(mean(x**2) + epsilon) (no beta), as Keras 3.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from cornu import initializers, regularizers
from cornu.layers.base import Layer, Params, Shape
from cornu.training import rng as global_rng


class LayerNormalization(Layer):

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
        axes = (axis,) if isinstance(axis, int) else axis
        try:
            axes = tuple(axes)
        except TypeError:
            axes = ("?",)
        if not axes or any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
            raise ValueError(f"axis must be an integer or a list of integers. "
                             f"Received: axis={axis!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) \
                or not (math.isfinite(epsilon) and epsilon > 0):
            raise ValueError(f"epsilon must be a positive number. Received: epsilon={epsilon!r}")
        self.axis = axis if isinstance(axis, int) else list(axes)
        self._axes = axes
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        self.center = bool(center) and not self.rms_scaling
        self.scale = bool(scale) or self.rms_scaling
        self._initializer_args = {"beta_initializer": beta_initializer,
                                  "gamma_initializer": gamma_initializer}
        self._initializers = {k: initializers.get(v, k) for k, v in self._initializer_args.items()}
        self.beta_regularizer = self._set_regularizer("beta", beta_regularizer,
                                                      "beta_regularizer")
        self.gamma_regularizer = self._set_regularizer("gamma", gamma_regularizer,
                                                       "gamma_regularizer")

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

    def _param_shape(self) -> tuple[int, ...]:
        return tuple(self.input_shape[a] for a in self._positive_axes(len(self.input_shape)))

    def init(self, key: jax.Array) -> Params:
        k_gamma, k_beta = global_rng.split(key)
        params = {}
        if self.scale:
            params["gamma"] = self._initializers["gamma_initializer"](
                k_gamma, self._param_shape(), jnp.float32)
        if self.center:
            params["beta"] = self._initializers["beta_initializer"](
                k_beta, self._param_shape(), jnp.float32)
        return params

    def call(self, params: Params, x, *, training: bool, rng):
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
            y = y * jnp.reshape(params["gamma"], shape)
        if self.center:
            y = y + jnp.reshape(params["beta"], shape)
        return y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
            **{k: initializers.serialize(v) for k, v in self._initializer_args.items()},
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }
