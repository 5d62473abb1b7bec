"""The shared part of RandomRotation, RandomTranslation and RandomZoom: Keras' fill and
interpolation arguments, the layer's seed, and one affine resampling per image while
training (the identity at inference). A subclass draws its transform matrices."""

from __future__ import annotations

from typing import Any

import jax

from cornu import random
from cornu.layers import _args, _image, _image_transform
from cornu.layers.base import Layer, Shape


class BaseAffineAugmentation(Layer):
    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fill_mode = _image_transform.check_fill_mode(fill_mode)
        self.interpolation = _image_transform.check_interpolation(interpolation)
        self.seed = _image_transform.check_seed(seed)
        self.fill_value = float(fill_value)
        self.data_format = _args.data_format(data_format)
        self.seed_generator = random.SeedGenerator(seed)

    def _matrices(self, batch: int, height: int, width: int) -> jax.Array:
        """(batch, 8) transforms in Keras' form, drawn from the layer's seed."""
        raise NotImplementedError

    def build(self, input_shape) -> None:
        _image.check_images(self, tuple(input_shape))

    def call(self, inputs, training=False):
        images = _image_transform.as_float(self, inputs)
        if not training:
            return images
        batch = 1 if images.ndim == 3 else images.shape[0]
        matrix = self._matrices(batch, images.shape[-3], images.shape[-2])
        return _image_transform.affine_transform(
            images, matrix[0] if images.ndim == 3 else matrix, self.interpolation,
            self.fill_mode, self.fill_value)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value, "data_format": self.data_format}
