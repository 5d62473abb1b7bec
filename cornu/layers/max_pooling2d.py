"""MaxPooling2D: the maximum over each pool_size window of the spatial axes (2-D)."""

from __future__ import annotations

from cornu.layers.base_pooling import BasePooling


class MaxPooling2D(BasePooling):
    rank = 2
    mode = "max"
