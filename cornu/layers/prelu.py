"""PReLU: x for x >= 0, `alpha * x` below, with `alpha` learned per input element (one
value over each of `shared_axes`, e.g. shared_axes=[1, 2] for one slope per channel)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import constraints, initializers, regularizers
from cornu.layers.base import Layer


class PReLU(Layer):
    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer, "alpha_initializer")
        self.alpha_regularizer = regularizers.get(alpha_regularizer, "alpha_regularizer")
        self.alpha_constraint = constraints.get(alpha_constraint, "alpha_constraint")
        if shared_axes is not None:
            shared_axes = list(shared_axes) if isinstance(shared_axes, list | tuple) \
                else [shared_axes]
            if any(isinstance(a, bool) or not isinstance(a, int) or a < 1 for a in shared_axes):
                raise ValueError("shared_axes must be a list of axes >= 1 (axis 0 is the "
                                 f"batch). Received: shared_axes={shared_axes!r}")
        self.shared_axes = shared_axes
        self.supports_masking = True

    def build(self, input_shape) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(
                    f"Layer '{self.name}' (PReLU): shared_axes={self.shared_axes} names an "
                    f"axis the input does not have. Received input shape "
                    f"{tuple(input_shape)}.")
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(
                f"Layer '{self.name}' (PReLU) needs known sizes on the axes it learns a slope "
                f"for; share the unknown ones with shared_axes. Received input shape "
                f"{tuple(input_shape)}.")
        self.alpha = self.add_weight(
            shape=tuple(shape), initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer, constraint=self.alpha_constraint,
            name="alpha")

    def call(self, inputs):
        alpha = jnp.reshape(self.alpha.value, (1, *self.alpha.value.shape))
        return jnp.maximum(inputs, 0.0) - alpha * jnp.maximum(-inputs, 0.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }
