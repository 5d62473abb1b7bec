"""BatchNormalization: normalise each feature (channel) with the batch's mean and variance
in training, and with moving averages of them at inference.

    y = gamma * (x - mean) / sqrt(var + epsilon) + beta

In training the moving statistics are updated inside the compiled step (they are the
layer's state, returned by `apply`): moving = moving * momentum + batch * (1 - momentum),
the batch variance being the biased one, as Keras 3.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu import initializers, regularizers, variables
from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class BatchNormalization(Layer):
    supports_masking = True  # hands the input's mask on, as Keras

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
        _args.positive_float(epsilon, "epsilon")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self._initializers = {k: initializers.get(v, k) for k, v in {
            "beta_initializer": beta_initializer, "gamma_initializer": gamma_initializer,
            "moving_mean_initializer": moving_mean_initializer,
            "moving_variance_initializer": moving_variance_initializer}.items()}
        self.beta_regularizer = regularizers.get(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer = regularizers.get(gamma_regularizer, "gamma_regularizer")

    @property
    def compute_dtype(self) -> str:
        return "float32"  # normalization computes in float32 under a mixed policy, as Keras

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

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self.compute_output_shape(input_shape)
        shape = (input_shape[self.axis],)
        init = self._initializers
        self.gamma = self.add_weight(shape=shape, initializer=init["gamma_initializer"],
                                     regularizer=self.gamma_regularizer,
                                     name="gamma") if self.scale else None
        self.beta = self.add_weight(shape=shape, initializer=init["beta_initializer"],
                                    regularizer=self.beta_regularizer,
                                    name="beta") if self.center else None
        self.moving_mean = self.add_weight(shape=shape, trainable=False, name="moving_mean",
                                           initializer=init["moving_mean_initializer"])
        self.moving_variance = self.add_weight(
            shape=shape, trainable=False, name="moving_variance",
            initializer=init["moving_variance_initializer"])

    def call(self, inputs, training=False, mask=None):
        # as Keras 3: a frozen BatchNormalization runs in inference mode (transfer learning)
        training = bool(training) and self.trainable
        x = inputs
        if mask is not None and jnp.ndim(mask) != x.ndim - 1:
            raise ValueError("The mask provided should be one dimension less than the "
                             f"inputs. Received: mask.shape={jnp.shape(mask)}, "
                             f"inputs.shape={x.shape}")
        axis = self.axis % x.ndim
        reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
        shape = tuple(x.shape[i] if i == axis else 1 for i in range(x.ndim))
        scope = variables.current_scope()
        sample_mask = None if scope is None else scope.sample_mask
        if training and (mask is not None or sample_mask is not None and axis != 0):
            # statistics over the real samples only (the padding of a partial last batch
            # must not move them), and over the unmasked steps (as Keras, which divides by
            # their number plus its epsilon)
            weight = jnp.ones((), x.dtype)
            if sample_mask is not None and axis != 0:
                weight = jnp.reshape(sample_mask.astype(x.dtype),
                                     (x.shape[0],) + (1,) * (x.ndim - 1))
            if mask is not None:
                weight = weight * jnp.expand_dims(jnp.asarray(mask).astype(x.dtype), -1)
            weight = jnp.broadcast_to(weight, x.shape)
            count = jnp.sum(weight, axis=reduce_axes)
            if mask is not None:
                count = count + 1e-7
            mean = jnp.sum(x * weight, axis=reduce_axes) / count
            centered = x - jnp.reshape(mean, shape)
            var = jnp.sum(jnp.square(centered) * weight, axis=reduce_axes) / count
        elif training:
            mean = jnp.mean(x, axis=reduce_axes)
            var = jnp.mean(jnp.square(x - jnp.reshape(mean, shape)), axis=reduce_axes)
        if training:
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.value * m + var * (1.0 - m))
        else:
            mean, var = self.moving_mean.value, self.moving_variance.value
        inv = jax.lax.rsqrt(var + self.epsilon)
        if self.scale:
            inv = inv * self.gamma.value
        y = (x - jnp.reshape(mean, shape)) * jnp.reshape(inv, shape)
        if self.center:
            y = y + jnp.reshape(self.beta.value, shape)
        return y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "axis": self.axis, "momentum": self.momentum,
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            **{k: initializers.serialize(v) for k, v in self._initializers.items()},
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
        }
