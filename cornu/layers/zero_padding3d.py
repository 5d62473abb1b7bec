"""ZeroPadding3D: zeros added before and after the depth, height and width axes of
(batch, depth, height, width, channels) volumes."""

from __future__ import annotations

from cornu.layers.base_zero_padding import BaseZeroPadding


class ZeroPadding3D(BaseZeroPadding):
    """`ZeroPadding3D(padding=((1, 1), (1, 1), (1, 1)))`: an int, one int per axis, or a
    (before, after) pair per axis."""

    rank = 3
