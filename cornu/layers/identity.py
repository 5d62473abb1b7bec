"""Identity: returns its inputs (a placeholder where a layer is expected)."""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Layer


class Identity(Layer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
