"""Resizing: images to (height, width), as Keras (jax.image.resize, no antialiasing unless
asked), optionally after a centred crop or pad to the target's aspect ratio."""

from __future__ import annotations

from typing import Any

from cornu.layers import _args, _image
from cornu.layers.base import Layer, Shape


class Resizing(Layer):
    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = _args.positive_int(height, "height")
        self.width = _args.positive_int(width, "width")
        self.interpolation = _image.interpolation(interpolation)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Pass crop_to_aspect_ratio or pad_to_aspect_ratio, not both. "
                             "Received: crop_to_aspect_ratio=True, pad_to_aspect_ratio=True")
        if fill_mode != "constant":
            raise ValueError(f"fill_mode must be 'constant' (the only mode Keras' Resizing "
                             f"has). Received: fill_mode={fill_mode!r}")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)
        self.data_format = _args.data_format(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _image.check_images(self, input_shape)
        return _image.with_size(input_shape, self.height, self.width)

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        if self.crop_to_aspect_ratio:
            inputs = _image.aspect_crop(inputs, self.height, self.width)
        elif self.pad_to_aspect_ratio:
            inputs = _image.aspect_pad(inputs, self.height, self.width, self.fill_value)
        return _image.resize(inputs, self.height, self.width, self.interpolation,
                             self.antialias)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias,
                "data_format": self.data_format}
