"""ZeroPadding2D: rows of zeros above and below, columns left and right, of
(batch, height, width, channels) images."""

from __future__ import annotations

from cornu.layers.base_zero_padding import BaseZeroPadding


class ZeroPadding2D(BaseZeroPadding):
    """`ZeroPadding2D(padding=(1, 1))`: an int, one int per axis, or
    ((top, bottom), (left, right))."""

    rank = 2
