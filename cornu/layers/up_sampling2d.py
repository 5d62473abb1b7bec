"""UpSampling2D: images (batch, height, width, channels) enlarged by whole factors `size`,
each pixel repeated ('nearest') or interpolated ('bilinear', 'bicubic', 'lanczos3',
'lanczos5': jax.image.resize without antialiasing, as Keras on JAX)."""

from __future__ import annotations

from typing import Any

import jax

from cornu.layers.base_up_sampling import BaseUpSampling

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


class UpSampling2D(BaseUpSampling):
    rank = 2

    def __init__(self, size: int | tuple[int, int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(size, data_format, **kwargs)
        name = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if name not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = name

    def call(self, inputs):
        if self.interpolation == "nearest":
            return super().call(inputs)
        n, h, w, c = inputs.shape
        return jax.image.resize(inputs, (n, h * self.size[0], w * self.size[1], c),
                                method=self.interpolation, antialias=False)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "interpolation": self.interpolation}
