"""Rescaling: `inputs * scale + offset` in the layer's float dtype, e.g.
Rescaling(1 / 255) for 8-bit images; `scale` and `offset` may be numbers or per-channel
lists (they broadcast over the last axes)."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from cornu.layers.base import Layer


def _number_or_list(value: Any, argument: str) -> float | list:
    if isinstance(value, np.ndarray | list | tuple):
        array = np.asarray(value, dtype=np.float64)
        if array.size and np.isfinite(array).all():
            return array.tolist()
    elif isinstance(value, int | float | np.number) and not isinstance(value, bool) \
            and math.isfinite(value):
        return float(value)
    raise ValueError(f"{argument} must be a finite number or a list of them (per channel). "
                     f"Received: {argument}={value!r}")


class Rescaling(Layer):
    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = _number_or_list(scale, "scale")
        self.offset = _number_or_list(offset, "offset")
        self.supports_masking = True

    def call(self, inputs):
        dtype = self.compute_dtype
        x = jnp.asarray(inputs).astype(dtype)
        scale, offset = (jnp.asarray(v, dtype) for v in (self.scale, self.offset))
        scale = jnp.reshape(scale, (1,) * (x.ndim - scale.ndim) + scale.shape)
        offset = jnp.reshape(offset, (1,) * (x.ndim - offset.ndim) + offset.shape)
        return x * scale + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
