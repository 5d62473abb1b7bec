"""SpatialDropout1D: Dropout that drops whole channels of (batch, steps, channels): one
decision per sample and channel, shared over the steps."""

from __future__ import annotations

from typing import Any

from cornu.layers import _args
from cornu.layers.dropout import Dropout


class SpatialDropout1D(Dropout):
    _axes = "steps, channels"

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        rank = len(self._axes.split(", ")) + 1
        super().__init__(rate, noise_shape=(None, *(1,) * (rank - 2), None), seed=seed,
                         **kwargs)

    def build(self, input_shape) -> None:
        _args.check_rank(self, tuple(input_shape), len(self.noise_shape), self._axes)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["noise_shape"]
        return config
