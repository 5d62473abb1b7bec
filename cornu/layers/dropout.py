"""Dropout: in training, zero each input with probability `rate` and scale the rest by
1 / (1 - rate); at inference, the identity.

The masks come from the layer's SeedGenerator; inside fit every draw comes from the
training step's key (folded with the generator), so `cornu.utils.set_random_seed` makes
every mask repeatable and a resumed fit draws the same masks.
"""

from __future__ import annotations

import math
from typing import Any

from cornu import random
from cornu.layers.base import Layer


class Dropout(Layer):
    supports_masking = True  # hands the input's mask on, as Keras
    def __init__(self, rate: float, noise_shape: tuple[int | None, ...] | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, int | float) \
                or not (math.isfinite(rate) and 0 <= rate < 1):
            raise ValueError(
                f"rate must be a number in [0, 1) (the fraction of inputs to drop). "
                f"Received: rate={rate!r}"
            )
        if noise_shape is not None:
            noise_shape = tuple(noise_shape)
            if any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
                   for d in noise_shape):
                raise ValueError(
                    "noise_shape must be a tuple of positive integers or None. "
                    f"Received: noise_shape={noise_shape!r}"
                )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                                 or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None. Received: "
                             f"seed={seed!r}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed

        self.seed_generator = random.SeedGenerator(seed)

    def build(self, input_shape) -> None:
        if self.noise_shape is not None and len(self.noise_shape) != len(input_shape):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): noise_shape={self.noise_shape} "
                f"must have the input's rank {len(input_shape)}. Received input shape "
                f"{input_shape}."
            )

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        return random.dropout(inputs, self.rate, self.noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                "seed": self.seed}
