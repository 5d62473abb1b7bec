"""UpSampling2D: images (batch, height, width, channels) enlarged by whole factors `size`,
each pixel repeated ('nearest') or interpolated ('bilinear', 'bicubic', 'lanczos3',
'lanczos5': jax.image.resize without antialiasing, as Keras on JAX)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


class UpSampling2D(Layer):
    def __init__(self, size: int | tuple[int, int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = _args.int_tuple(size, 2, "size")
        self.data_format = _args.data_format(data_format)
        name = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if name not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = name

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_rank(self, tuple(input_shape), 4, "height, width, channels")
        spatial = [None if d is None else d * s
                   for d, s in zip(input_shape[1:3], self.size, strict=True)]
        return (input_shape[0], *spatial, input_shape[3])

    def build(self, input_shape) -> None:
        self.compute_output_shape(tuple(input_shape))

    def call(self, inputs):
        if self.interpolation == "nearest":
            return jnp.repeat(jnp.repeat(inputs, self.size[0], axis=1), self.size[1], axis=2)
        n, h, w, c = inputs.shape
        return jax.image.resize(inputs, (n, h * self.size[0], w * self.size[1], c),
                                method=self.interpolation, antialias=False)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format, "interpolation": self.interpolation}
