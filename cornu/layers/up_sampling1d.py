"""UpSampling1D: each step of (batch, steps, channels) repeated `size` times."""

from __future__ import annotations

from typing import Any

from cornu.layers.base_up_sampling import BaseUpSampling


class UpSampling1D(BaseUpSampling):
    rank = 1

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(size, **kwargs)
