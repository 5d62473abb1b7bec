"""MaxPooling1D: the maximum over each pool_size window of the spatial axes (1-D)."""

from __future__ import annotations

from cornu.layers.base_pooling import BasePooling


class MaxPooling1D(BasePooling):
    rank = 1
    mode = "max"
