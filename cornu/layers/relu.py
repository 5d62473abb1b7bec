"""ReLU as a layer, with Keras' options: `max_value` caps the output, values at or below
`threshold` become `negative_slope * (x - threshold)`, the others stay x."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer


class ReLU(Layer):
    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = _args.non_negative(max_value, "max_value", "ReLU", optional=True)
        self.negative_slope = _args.non_negative(negative_slope, "negative_slope", "ReLU")
        self.threshold = _args.non_negative(threshold, "threshold", "ReLU")
        self.supports_masking = True

    def call(self, inputs):
        # Keras' formula: (x above the threshold, else 0) clipped to max_value, minus
        # negative_slope * relu(threshold - x)
        y = jnp.where(inputs > self.threshold, inputs, 0.0).astype(inputs.dtype)
        if self.max_value is not None:
            y = jnp.clip(y, 0.0, self.max_value)
        if self.negative_slope:
            y = y - self.negative_slope * jnp.maximum(self.threshold - inputs, 0.0)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}
