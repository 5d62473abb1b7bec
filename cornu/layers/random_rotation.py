"""RandomRotation: in training, rotates each image about its centre by an angle drawn
uniformly from `factor` (fractions of a full turn: 0.1 is up to 36 degrees); at inference,
the identity. The resampling is Keras' affine transform (cornu/layers/_image_transform.py)."""

from __future__ import annotations

from typing import Any

import jax

from cornu.layers import _image_transform
from cornu.layers.base_affine_augmentation import BaseAffineAugmentation


class RandomRotation(BaseAffineAugmentation):
    def __init__(self, factor: float | tuple[float, float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(fill_mode=fill_mode, interpolation=interpolation, seed=seed,
                         fill_value=fill_value, data_format=data_format, **kwargs)
        self.factor = _image_transform.factor(factor, "factor", -1.0, 1.0,
                                              what=" (fractions of a full turn)")

    def _matrices(self, batch: int, height: int, width: int) -> jax.Array:
        lower, upper = self.factor
        angles = _image_transform.uniform((batch,), (lower * 360.0, upper * 360.0),
                                          self.seed_generator)
        return _image_transform.rotation_matrix(angles, height, width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}
