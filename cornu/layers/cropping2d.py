"""Cropping2D: drops rows at the top and bottom, columns at the left and right, of
(batch, height, width, channels) images."""

from __future__ import annotations

from typing import Any

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class Cropping2D(Layer):
    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _args.pairs(cropping, 2, "cropping")
        self.data_format = _args.data_format(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_rank(self, tuple(input_shape), 4, "height, width, channels")
        spatial = input_shape[1:3]
        if any(d is not None and sum(c) >= d for d, c in zip(spatial, self.cropping,
                                                             strict=True)):
            raise ValueError(
                f"Layer '{self.name}' (Cropping2D): cropping={self.cropping} leaves nothing "
                f"of the input's {tuple(spatial)} pixels. Received input shape "
                f"{tuple(input_shape)}.")
        cropped = [None if d is None else d - sum(c)
                   for d, c in zip(spatial, self.cropping, strict=True)]
        return (input_shape[0], *cropped, input_shape[3])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        (top, bottom), (left, right) = self.cropping
        return inputs[:, top:inputs.shape[1] - bottom, left:inputs.shape[2] - right]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping],
                "data_format": self.data_format}
