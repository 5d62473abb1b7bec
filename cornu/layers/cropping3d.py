"""Cropping3D: drops entries at the start and end of the depth, height and width axes of
(batch, depth, height, width, channels) volumes."""

from __future__ import annotations

from typing import Any

from cornu.layers.base_cropping import BaseCropping


class Cropping3D(BaseCropping):
    """`Cropping3D(cropping=((1, 1), (1, 1), (1, 1)))`: an int, one int per axis, or a
    (start, end) pair per axis."""

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)),
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)
