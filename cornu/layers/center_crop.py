"""CenterCrop: the centred (height, width) window of each image. Images smaller than the
target on an axis are cropped to the target's aspect ratio and resized (bilinear), as Keras
does."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args, _image
from cornu.layers.base import Layer, Shape


class CenterCrop(Layer):
    def __init__(self, height: int, width: int, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = _args.positive_int(height, "height")
        self.width = _args.positive_int(width, "width")
        self.data_format = _args.data_format(data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _image.check_images(self, input_shape)
        return _image.with_size(input_shape, self.height, self.width)

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        if not jnp.issubdtype(inputs.dtype, jnp.floating):
            inputs = inputs.astype(self.compute_dtype)
        h, w = inputs.shape[-3], inputs.shape[-2]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return inputs[..., top:top + self.height, left:left + self.width, :]
        inputs = _image.aspect_crop(inputs, self.height, self.width)
        return _image.resize(inputs, self.height, self.width, "bilinear")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "data_format": self.data_format}
