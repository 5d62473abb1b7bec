"""Cropping1D: drops steps from the start and the end of (batch, steps, channels)."""

from __future__ import annotations

from typing import Any

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class Cropping1D(Layer):
    def __init__(self, cropping: int | tuple[int, int] = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        (self.cropping,) = _args.pairs(cropping, 1, "cropping")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_rank(self, tuple(input_shape), 3, "steps, channels")
        steps = input_shape[1]
        if steps is not None and sum(self.cropping) >= steps:
            raise ValueError(
                f"Layer '{self.name}' (Cropping1D): cropping={self.cropping} leaves no steps "
                f"of the input's {steps}. Received input shape {tuple(input_shape)}.")
        return (input_shape[0], None if steps is None else steps - sum(self.cropping),
                input_shape[2])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        start, end = self.cropping
        return inputs[:, start:inputs.shape[1] - end]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": list(self.cropping)}
