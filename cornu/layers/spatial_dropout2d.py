"""SpatialDropout2D: Dropout that drops whole feature maps of (batch, height, width,
channels): one decision per sample and channel, shared over the pixels."""

from __future__ import annotations

from typing import Any

from cornu.layers import _args
from cornu.layers.spatial_dropout1d import SpatialDropout1D


class SpatialDropout2D(SpatialDropout1D):
    _axes = "height, width, channels"

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _args.data_format(data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
