"""RandomFlip: in training, flips each image left-right and/or top-bottom with probability
1/2; at inference, the identity. As Keras, "horizontal_and_vertical" draws once per image
and flips both axes together. Draws come from the layer's SeedGenerator, as Dropout's."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu import random
from cornu.layers import _args, _image, _image_transform
from cornu.layers.base import Layer, Shape

MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(Layer):
    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}. "
                             f"Received: mode={mode!r}")
        self.mode = mode
        self.seed = _image_transform.check_seed(seed)
        self.data_format = _args.data_format(data_format)
        self.seed_generator = random.SeedGenerator(seed)

    def build(self, input_shape) -> None:
        _image.check_images(self, tuple(input_shape))

    def call(self, inputs, training=False):
        images = _image_transform.as_float(self, inputs)
        if not training:
            return images
        batch = images[None] if images.ndim == 3 else images
        flips = _image_transform.uniform((batch.shape[0], 1, 1, 1), (0.0, 1.0),
                                         self.seed_generator) <= 0.5
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            batch = jnp.where(flips, jnp.flip(batch, axis=-2), batch)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            batch = jnp.where(flips, jnp.flip(batch, axis=-3), batch)
        return batch[0] if images.ndim == 3 else batch

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "seed": self.seed,
                "data_format": self.data_format}
