"""Global pooling: the mean or maximum over all spatial axes, one value per channel."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers import _args
from cornu.layers.base import Layer, Shape


class BaseGlobalPooling(Layer):
    supports_masking = False  # as Keras: only GlobalAveragePooling1D reads a mask
    rank: int = 2
    mode: str = "average"  # or "max"

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = _args.data_format(data_format)
        self.keepdims = bool(keepdims)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)  # eager calls refuse bad shapes too

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _args.check_spatial_rank(self, input_shape, self.rank)
        if self.keepdims:
            return (input_shape[0], *(1,) * self.rank, input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def call(self, x, mask=None):
        axes = tuple(range(1, 1 + self.rank))
        if mask is not None and self.mode == "average" and self.rank == 1:
            # the mean over the unmasked steps only, as Keras
            weights = jnp.asarray(mask, x.dtype)[..., None]
            total = jnp.sum(x * weights, axis=axes, keepdims=self.keepdims)
            return total / jnp.sum(weights, axis=axes, keepdims=self.keepdims)
        reduce = jnp.max if self.mode == "max" else jnp.mean
        return reduce(x, axis=axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, previous_mask=None):
        return None  # the steps are pooled away

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}
