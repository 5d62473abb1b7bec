"""Cropping1D: drops steps from the start and the end of (batch, steps, channels)."""

from __future__ import annotations

from typing import Any

from cornu.layers.base_cropping import BaseCropping


class Cropping1D(BaseCropping):
    """`Cropping1D(cropping=(1, 1))`: an int, or (start, end)."""

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(cropping, **kwargs)
