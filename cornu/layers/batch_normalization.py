"""BatchNormalization: normalise each feature (channel) with the batch's mean and variance
in training, and with moving averages of them at inference.

    y = gamma * (x - mean) / sqrt(var + epsilon) + beta

In training the moving statistics are updated inside the compiled step (they are the
layer's state, returned by `apply`): moving = moving * momentum + batch * (1 - momentum),
the batch variance being the biased one, as Keras 3.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from cornu import initializers, regularizers
from cornu.layers.base import Layer, Params, Shape
from cornu.training import rng as global_rng


class BatchNormalization(Layer):

    float32_compute = True
    weight_names = ("gamma", "beta")
    state_names = ("moving_mean", "moving_variance")

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: str = "zeros",
        gamma_initializer: str = "ones",
        moving_mean_initializer: str = "zeros",
        moving_variance_initializer: str = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an integer. Received: axis={axis!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, int | float) \
                or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be a number in [0, 1]. Received: "
                             f"momentum={momentum!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) \
                or not (math.isfinite(epsilon) and epsilon > 0):
            raise ValueError(f"epsilon must be a positive number. Received: epsilon={epsilon!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self._initializer_args = {
            "beta_initializer": beta_initializer, "gamma_initializer": gamma_initializer,
            "moving_mean_initializer": moving_mean_initializer,
            "moving_variance_initializer": moving_variance_initializer}
        self._initializers = {k: initializers.get(v, k) for k, v in self._initializer_args.items()}
        self.beta_regularizer = self._set_regularizer("beta", beta_regularizer,
                                                      "beta_regularizer")
        self.gamma_regularizer = self._set_regularizer("gamma", gamma_regularizer,
                                                       "gamma_regularizer")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization): axis={self.axis} is not a feature "
                f"axis of the input shape {input_shape}. Use an axis in 1..{rank - 1} (or -1)."
            )
        if input_shape[self.axis] is None:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) needs a known size on axis "
                f"{self.axis}. Received input shape {input_shape}."
            )
        return input_shape

    @property
    def _features(self) -> int:
        return self.input_shape[self.axis]

    def init(self, key: jax.Array) -> Params:
        k_gamma, k_beta = global_rng.split(key)
        shape = (self._features,)
        params = {}
        if self.scale:
            params["gamma"] = self._initializers["gamma_initializer"](k_gamma, shape, jnp.float32)
        if self.center:
            params["beta"] = self._initializers["beta_initializer"](k_beta, shape, jnp.float32)
        return params

    def init_state(self) -> Params:
        key, shape = jax.random.PRNGKey(0), (self._features,)
        return {
            "moving_mean": self._initializers["moving_mean_initializer"](key, shape, jnp.float32),
            "moving_variance": self._initializers["moving_variance_initializer"](
                key, shape, jnp.float32),
        }

    def count_params(self) -> int:
        """Keras counts the moving statistics too (4 * features with center and scale)."""
        return super().count_params() + 2 * self._features

    uses_sample_mask = True

    def apply(self, params: Params, state: Params, x, *, training: bool, rng,
              sample_mask=None):
        axis = self.axis % x.ndim
        reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
        shape = tuple(x.shape[i] if i == axis else 1 for i in range(x.ndim))
        if training and sample_mask is not None and axis != 0:
            # statistics over the real samples only: the padding of a partial last batch
            # must not move them
            weight = jnp.broadcast_to(
                jnp.reshape(sample_mask.astype(x.dtype), (x.shape[0],) + (1,) * (x.ndim - 1)),
                x.shape)
            count = jnp.sum(weight, axis=reduce_axes)
            mean = jnp.sum(x * weight, axis=reduce_axes) / count
            centered = x - jnp.reshape(mean, shape)
            var = jnp.sum(jnp.square(centered) * weight, axis=reduce_axes) / count
        elif training:
            mean = jnp.mean(x, axis=reduce_axes)
            var = jnp.mean(jnp.square(x - jnp.reshape(mean, shape)), axis=reduce_axes)
        if training:
            m = self.momentum
            state = {"moving_mean": state["moving_mean"] * m + mean * (1.0 - m),
                     "moving_variance": state["moving_variance"] * m + var * (1.0 - m)}
        else:
            mean, var = state["moving_mean"], state["moving_variance"]
        inv = jax.lax.rsqrt(var + self.epsilon)
        if self.scale:
            inv = inv * params["gamma"]
        y = (x - jnp.reshape(mean, shape)) * jnp.reshape(inv, shape)
        if self.center:
            y = y + jnp.reshape(params["beta"], shape)
        return y, state

    def call(self, params: Params, x, *, training: bool, rng):
        raise NotImplementedError(
            f"Layer '{self.name}' (BatchNormalization) keeps moving statistics: use "
            "apply(params, state, x, training=..., rng=...) with state from init_state()."
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "axis": self.axis, "momentum": self.momentum,
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            **{k: initializers.serialize(v) for k, v in self._initializer_args.items()},
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }
