"""Masking: time steps whose features all equal `mask_value` are masked for the layers
after this one (and zeroed in the output), as Keras 3."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers.base import Layer, Shape


class Masking(Layer):
    supports_masking = True
    _makes_masks = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, int | float):
            raise ValueError(f"mask_value must be a number. Received: mask_value={mask_value!r}")
        self.mask_value = mask_value

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        return jnp.any(jnp.asarray(inputs) != self.mask_value, axis=-1)

    def call(self, inputs: Any) -> Any:
        keep = jnp.any(inputs != self.mask_value, axis=-1, keepdims=True)
        return inputs * keep.astype(inputs.dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
