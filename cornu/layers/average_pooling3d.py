"""AveragePooling3D: the mean over each pool_size window of the spatial axes (3-D)."""

from __future__ import annotations

from cornu.layers.base_pooling import BasePooling


class AveragePooling3D(BasePooling):
    rank = 3
    mode = "average"
