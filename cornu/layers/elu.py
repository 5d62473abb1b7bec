"""ELU: x for x > 0, `alpha * (exp(x) - 1)` below."""

from __future__ import annotations

from typing import Any

from cornu import activations
from cornu.layers.base import Layer


class ELU(Layer):
    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, int | float):
            raise ValueError(f"alpha of an ELU layer must be a number. Received: alpha={alpha!r}")
        self.alpha = float(alpha)
        self.supports_masking = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}
