"""GroupNormalization: the channels on `axis` split into `groups` groups; each sample is
normalised over each group's channels and all other non-batch axes, then scaled by gamma
and shifted by beta (one per channel):  y = gamma * (x - mean) / sqrt(var + epsilon) + beta.

groups=1 normalises over everything but the batch (LayerNormalization over all axes);
groups=-1 (one group per channel; build sets groups to the channel count, as Keras) is
instance normalization.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu import constraints, initializers, regularizers
from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class GroupNormalization(Layer):
    supports_masking = True  # hands the input's mask on, as Keras

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or \
                (groups < 1 and groups != -1):
            raise ValueError("groups must be a positive integer, or -1 for one group per "
                             f"channel. Received: groups={groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an integer (the channels axis). Received: "
                             f"axis={axis!r}")
        _args.positive_float(epsilon, "epsilon")
        self.groups = groups
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, "gamma_initializer")
        self.beta_regularizer = regularizers.get(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer = regularizers.get(gamma_regularizer, "gamma_regularizer")
        self.beta_constraint = constraints.get(beta_constraint, "beta_constraint")
        self.gamma_constraint = constraints.get(gamma_constraint, "gamma_constraint")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization): axis={self.axis} must name a "
                f"channels axis of the input shape {input_shape} (1..{rank - 1}, or -1).")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization) needs a known size on axis="
                f"{self.axis}. Received input shape {input_shape}.")
        if self.groups != -1 and (self.groups > channels or channels % self.groups):
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization): the {channels} channels on "
                f"axis={self.axis} do not split into groups={self.groups}. Use a groups that "
                f"divides {channels}, or -1 for one group per channel. Received input shape "
                f"{input_shape}.")
        return input_shape

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        self.compute_output_shape(input_shape)
        shape = (input_shape[self.axis],)
        if self.groups == -1:  # as Keras: the config then says how many groups
            self.groups = shape[0]
        self.gamma = self.add_weight(
            shape=shape, initializer=self.gamma_initializer,
            regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
            name="gamma") if self.scale else None
        self.beta = self.add_weight(
            shape=shape, initializer=self.beta_initializer,
            regularizer=self.beta_regularizer, constraint=self.beta_constraint,
            name="beta") if self.center else None

    def call(self, inputs):
        axis = self.axis % inputs.ndim
        channels = inputs.shape[axis]
        groups = self.groups
        dtype = jnp.result_type(inputs.dtype, jnp.float32)
        # (..., groups, channels per group, ...): statistics over all but batch and groups
        grouped = jnp.reshape(inputs.astype(dtype), (
            *inputs.shape[:axis], groups, channels // groups, *inputs.shape[axis + 1:]))
        reduce = tuple(i for i in range(1, grouped.ndim) if i != axis)
        mean = jnp.mean(grouped, axis=reduce, keepdims=True)
        var = jnp.mean(jnp.square(grouped - mean), axis=reduce, keepdims=True)
        y = jnp.reshape((grouped - mean) * jax.lax.rsqrt(var + self.epsilon), inputs.shape)
        shape = tuple(channels if i == axis else 1 for i in range(inputs.ndim))
        if self.scale:
            y = y * jnp.reshape(self.gamma.value, shape)
        if self.center:
            y = y + jnp.reshape(self.beta.value, shape)
        return y.astype(inputs.dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "groups": self.groups, "axis": self.axis,
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
