"""LeakyReLU: x for x >= 0, `negative_slope * x` below (Keras' default slope: 0.3)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import _deprecation
from cornu.layers import _args
from cornu.layers.base import Layer


class LeakyReLU(Layer):
    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        old = _deprecation.renamed(kwargs, "alpha", "negative_slope", "LeakyReLU")
        negative_slope = _deprecation.pick(negative_slope, 0.3, old, "alpha", "negative_slope")
        super().__init__(**kwargs)
        self.negative_slope = _args.non_negative(negative_slope, "negative_slope", "LeakyReLU")
        self.supports_masking = True

    def call(self, inputs):
        return jnp.where(inputs >= 0, inputs, self.negative_slope * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}
