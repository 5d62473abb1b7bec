"""MaxPooling3D: the maximum over each pool_size window of the spatial axes (3-D)."""

from __future__ import annotations

from cornu.layers.base_pooling import BasePooling


class MaxPooling3D(BasePooling):
    rank = 3
    mode = "max"
