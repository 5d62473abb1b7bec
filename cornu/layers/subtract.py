"""Subtract: the elementwise difference `a - b` of exactly two inputs of the same shape."""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Shape
from cornu.layers.base_merge import BaseElementwise


class Subtract(BaseElementwise):
    def compute_output_shape(self, input_shape: Any) -> Shape:
        if isinstance(input_shape, list) and len(input_shape) != 2:
            raise ValueError(
                f"Layer '{self.name}' (Subtract) subtracts exactly 2 inputs, "
                f"Subtract()([a, b]) = a - b. Received {len(input_shape)} inputs of shapes "
                f"{', '.join(str(tuple(s)) for s in input_shape)}."
            )
        return super().compute_output_shape(input_shape)

    def call(self, xs):
        return xs[0] - xs[1]
