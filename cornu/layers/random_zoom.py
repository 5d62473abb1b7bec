"""RandomZoom: in training, zooms each image about its centre by 1 + a number drawn
uniformly from `height_factor` (and `width_factor`; without it the image keeps its aspect
ratio). As Keras, positive factors zoom out and negative ones zoom in: (-0.3, -0.2) zooms
in by 20 to 30 percent. At inference, the identity. The resampling is Keras' affine
transform (cornu/layers/_image_transform.py)."""

from __future__ import annotations

from typing import Any

import jax

from cornu.layers import _image_transform
from cornu.layers.base_affine_augmentation import BaseAffineAugmentation


class RandomZoom(BaseAffineAugmentation):
    def __init__(self, height_factor: float | tuple[float, float],
                 width_factor: float | tuple[float, float] | None = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.height_range = _image_transform.factor(height_factor, "height_factor", -1.0,
                                                    1.0, above_low=True)
        self.width_range = None if width_factor is None else _image_transform.factor(
            width_factor, "width_factor", -1.0, 1.0, above_low=True)
        self.height_factor = _image_transform.as_config(height_factor)
        self.width_factor = _image_transform.as_config(width_factor)

    def _matrices(self, batch: int, height: int, width: int) -> jax.Array:
        lower, upper = self.height_range
        zy = _image_transform.uniform((batch,), (1.0 + lower, 1.0 + upper),
                                      self.seed_generator)
        zx = zy
        if self.width_range is not None:
            lower, upper = self.width_range
            zx = _image_transform.uniform((batch,), (1.0 + lower, 1.0 + upper),
                                          self.seed_generator)
        return _image_transform.zoom_matrix(zx, zy, height, width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}
