"""RandomZoom: in training, zooms each image about its centre by 1 + a number drawn
uniformly from `height_factor` (and `width_factor`; without it the image keeps its aspect
ratio). As Keras, positive factors zoom out and negative ones zoom in: (-0.3, -0.2) zooms
in by 20 to 30 percent. At inference, the identity. The resampling is Keras' affine
transform (cornu/layers/_image_transform.py)."""

from __future__ import annotations

from typing import Any

from cornu import random
from cornu.layers import _args, _image, _image_transform
from cornu.layers.base import Layer, Shape


class RandomZoom(Layer):
    def __init__(self, height_factor: float | tuple[float, float],
                 width_factor: float | tuple[float, float] | None = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.height_range = _image_transform.factor(height_factor, "height_factor", -1.0,
                                                    1.0, above_low=True)
        self.width_range = None if width_factor is None else _image_transform.factor(
            width_factor, "width_factor", -1.0, 1.0, above_low=True)
        self.height_factor = _image_transform.as_config(height_factor)
        self.width_factor = _image_transform.as_config(width_factor)
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
        lower, upper = self.height_range
        zy = _image_transform.uniform((batch,), (1.0 + lower, 1.0 + upper),
                                      self.seed_generator)
        zx = zy
        if self.width_range is not None:
            lower, upper = self.width_range
            zx = _image_transform.uniform((batch,), (1.0 + lower, 1.0 + upper),
                                          self.seed_generator)
        matrix = _image_transform.zoom_matrix(zx, zy, images.shape[-3], images.shape[-2])
        return _image_transform.affine_transform(
            images, matrix[0] if images.ndim == 3 else matrix, self.interpolation,
            self.fill_mode, self.fill_value)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value, "data_format": self.data_format}
