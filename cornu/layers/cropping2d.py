"""Cropping2D: drops rows at the top and bottom, columns at the left and right, of
(batch, height, width, channels) images."""

from __future__ import annotations

from typing import Any

from cornu.layers.base_cropping import BaseCropping


class Cropping2D(BaseCropping):
    """`Cropping2D(cropping=((0, 0), (0, 0)))`: an int, one int per axis, or
    ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)
