"""RandomRotation: in training, rotates each image about its centre by an angle drawn
uniformly from `factor` (fractions of a full turn: 0.1 is up to 36 degrees); at inference,
the identity. The resampling is Keras' affine transform (cornu/layers/_image_transform.py)."""

from __future__ import annotations

from typing import Any

from cornu import random
from cornu.layers import _args, _image, _image_transform
from cornu.layers.base import Layer, Shape


class RandomRotation(Layer):
    def __init__(self, factor: float | tuple[float, float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = _image_transform.factor(factor, "factor", -1.0, 1.0,
                                              what=" (fractions of a full turn)")
        self.fill_mode = _image_transform.check_fill_mode(fill_mode)
        self.interpolation = _image_transform.check_interpolation(interpolation)
        self.seed = _image_transform.check_seed(seed)
        self.fill_value = float(fill_value)
        self.data_format = _args.data_format(data_format)
        self.seed_generator = random.SeedGenerator(seed)

    def build(self, input_shape) -> None:
        _image.check_images(self, tuple(input_shape))

    def call(self, inputs, training=False):
        images = _image_transform.as_float(self, inputs)
        if not training:
            return images
        batch = 1 if images.ndim == 3 else images.shape[0]
        lower, upper = self.factor
        angles = _image_transform.uniform((batch,), (lower * 360.0, upper * 360.0),
                                          self.seed_generator)
        matrix = _image_transform.rotation_matrix(angles, images.shape[-3], images.shape[-2])
        return _image_transform.affine_transform(
            images, matrix[0] if images.ndim == 3 else matrix, self.interpolation,
            self.fill_mode, self.fill_value)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation,
                "seed": self.seed, "data_format": self.data_format}
