"""RandomBrightness: in training, adds to each image a number drawn uniformly from
`factor` times the width of `value_range` (-1 makes it black, 1 white), then clips to
`value_range`; at inference, the identity."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import random
from cornu.layers import _image, _image_transform
from cornu.layers.base import Layer, Shape


class RandomBrightness(Layer):
    def __init__(self, factor: float | tuple[float, float],
                 value_range: tuple[float, float] = (0, 255), seed: int | None = None,
                 **kwargs: Any) -> None:
        kwargs.pop("data_format", None)  # Keras' config carries it; channels_last only
        super().__init__(**kwargs)
        self.factor = _image_transform.factor(factor, "factor", -1.0, 1.0)
        self.value_range = _image_transform.value_range(value_range)
        self.seed = _image_transform.check_seed(seed)
        self.seed_generator = random.SeedGenerator(seed)

    def build(self, input_shape) -> None:
        _image.check_images(self, tuple(input_shape))

    def call(self, inputs, training=False):
        images = _image_transform.as_float(self, inputs)
        if not training:
            return images
        shape = (1, 1, 1) if images.ndim == 3 else (images.shape[0], 1, 1, 1)
        low, high = self.value_range
        delta = _image_transform.uniform(shape, self.factor, self.seed_generator) * (high - low)
        return jnp.clip(images + delta.astype(images.dtype), low, high)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}
