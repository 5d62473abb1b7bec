"""AveragePooling2D: the mean over each pool_size window of the spatial axes (2-D)."""

from __future__ import annotations

from cornu.layers.base_pooling import BasePooling


class AveragePooling2D(BasePooling):
    rank = 2
    mode = "average"
