"""GaussianNoise: in training, adds zero-mean normal noise of deviation `stddev`; at
inference, the identity. Draws come from the layer's SeedGenerator, as Dropout's."""

from __future__ import annotations

import math
from typing import Any

from cornu import random
from cornu.layers.base import Layer


def _rate(value: Any, argument: str, layer: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{argument} of a {layer} layer must be a number in [0, 1]. "
                         f"Received: {argument}={value!r}")
    return float(value)


def _seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None. Received: seed={seed!r}")
    return seed


class GaussianNoise(Layer):
    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev = _rate(stddev, "stddev", "GaussianNoise")
        self.seed = _seed(seed)
        self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.stddev == 0.0:
            return inputs
        return inputs + random.normal(inputs.shape, stddev=self.stddev, dtype=inputs.dtype,
                                      seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
