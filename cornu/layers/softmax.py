"""Softmax as a layer over `axis` (an int or a tuple of axes). With `mask` (True or > 0.5:
keep), masked positions get probability 0, as in Keras."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers.base import Layer


class Softmax(Layer):
    def __init__(self, axis: int | tuple[int, ...] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        items = list(axis) if isinstance(axis, list | tuple) else [axis]
        if not items or any(isinstance(a, bool) or not isinstance(a, int) for a in items):
            raise ValueError(f"axis must be an integer or a tuple of integers. Received: "
                             f"axis={axis!r}")
        self.axis = axis if isinstance(axis, int) else tuple(axis)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.dtype != jnp.bool_:
                mask = mask > 0.5
            mask = jnp.reshape(mask, (1,) * (inputs.ndim - mask.ndim) + mask.shape)
            inputs = jnp.where(mask, inputs, -3e4 if inputs.dtype == jnp.float16 else -1e9)
        outputs = jax.nn.softmax(inputs, axis=self.axis)
        if mask is not None:
            outputs = jnp.where(mask, outputs, 0.0)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        axis = self.axis if isinstance(self.axis, int) else list(self.axis)
        return {**super().get_config(), "axis": axis}
