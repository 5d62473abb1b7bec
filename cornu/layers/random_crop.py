"""RandomCrop: in training, a (height, width) window at a random place (one place for the
whole batch, as Keras); at inference, and in training when the images are not larger than
the target on both axes, the largest centred window with the target's aspect ratio, resized
to (height, width) (bilinear), as Keras documents. (Keras 3.15's code returns the images
uncropped at inference, and for a target larger than the image resizes a target-sized
window clipped to the image, which changes the aspect ratio.)"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu import random
from cornu.layers import _args, _image, _image_transform
from cornu.layers.base import Layer, Shape


class RandomCrop(Layer):
    def __init__(self, height: int, width: int, seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height = _args.positive_int(height, "height")
        self.width = _args.positive_int(width, "width")
        self.seed = _image_transform.check_seed(seed)
        self.data_format = _args.data_format(data_format)
        self.seed_generator = random.SeedGenerator(seed)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _image.check_images(self, input_shape)
        return _image.with_size(input_shape, self.height, self.width)

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs, training=False):
        images = _image_transform.as_float(self, inputs)
        h, w = images.shape[-3], images.shape[-2]
        if training and h > self.height and w > self.width:
            top = _image_transform.uniform((), (0.0, float(h - self.height + 1)),
                                           self.seed_generator).astype(jnp.int32)
            left = _image_transform.uniform((), (0.0, float(w - self.width + 1)),
                                            self.seed_generator).astype(jnp.int32)
            starts = [0] * (images.ndim - 3) + [top, left, 0]
            sizes = (*images.shape[:-3], self.height, self.width, images.shape[-1])
            return jax.lax.dynamic_slice(images, starts, sizes)
        images = _image.aspect_crop(images, self.height, self.width)
        if images.shape[-3:-1] == (self.height, self.width):
            return images
        return _image.resize(images, self.height, self.width, "bilinear")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "seed": self.seed, "data_format": self.data_format}
