"""GaussianDropout: in training, multiplies by normal noise of mean 1 and deviation
sqrt(rate / (1 - rate)); at inference, the identity. Draws come from the layer's
SeedGenerator, as Dropout's."""

from __future__ import annotations

import math
from typing import Any

from cornu import random
from cornu.layers.base import Layer
from cornu.layers.gaussian_noise import _rate, _seed


class GaussianDropout(Layer):
    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _rate(rate, "rate", "GaussianDropout")
        self.seed = _seed(seed)
        self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * random.normal(inputs.shape, mean=1.0, stddev=stddev,
                                      dtype=inputs.dtype, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
