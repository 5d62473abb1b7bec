"""RandomContrast: in training, moves each image's values away from (or towards) their
per-channel mean by a factor drawn uniformly from [1 - lower, 1 + upper], then clips to
`value_range`; at inference, the identity.

A single number f means lower = upper = f, as Keras documents (Keras 3.15's code draws
from [1, 1 + f] instead); the config keeps the pair, so Keras reads the same range back.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import random
from cornu.layers import _image, _image_transform
from cornu.layers.base import Layer, Shape


class RandomContrast(Layer):
    def __init__(self, factor: float | tuple[float, float],
                 value_range: tuple[float, float] = (0, 255), seed: int | None = None,
                 **kwargs: Any) -> None:
        kwargs.pop("data_format", None)  # Keras' config carries it; channels_last only
        super().__init__(**kwargs)
        lower, upper = _image_transform.factor(factor, "factor", 0.0, 1.0)
        if not isinstance(factor, tuple | list):
            lower = upper
        self.factor = (lower, upper)
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
        lower, upper = self.factor
        contrast = _image_transform.uniform(shape, (1.0 - lower, 1.0 + upper),
                                            self.seed_generator).astype(images.dtype)
        mean = jnp.mean(images, axis=(-3, -2), keepdims=True)
        out = (images - mean) * contrast + mean
        return jnp.clip(out, self.value_range[0], self.value_range[1])

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}
