"""RandomTranslation: in training, shifts each image by fractions of its height and width
drawn uniformly from `height_factor` and `width_factor` (positive: down and right); at
inference, the identity. The resampling is Keras' affine transform
(cornu/layers/_image_transform.py)."""

from __future__ import annotations

from typing import Any

import jax

from cornu.layers import _image_transform
from cornu.layers.base_affine_augmentation import BaseAffineAugmentation


class RandomTranslation(BaseAffineAugmentation):
    def __init__(self, height_factor: float | tuple[float, float],
                 width_factor: float | tuple[float, float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_range = _image_transform.factor(height_factor, "height_factor", -1.0, 1.0)
        self.width_range = _image_transform.factor(width_factor, "width_factor", -1.0, 1.0)
        self.height_factor = _image_transform.as_config(height_factor)
        self.width_factor = _image_transform.as_config(width_factor)

    def _matrices(self, batch: int, height: int, width: int) -> jax.Array:
        dy = _image_transform.uniform((batch,), self.height_range, self.seed_generator) * height
        dx = _image_transform.uniform((batch,), self.width_range, self.seed_generator) * width
        return _image_transform.translation_matrix(dx, dy)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}
