"""GlobalAveragePooling2D: the mean over all spatial axes (2-D), one value per channel."""

from __future__ import annotations

from cornu.layers.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling2D(BaseGlobalPooling):
    rank = 2
    mode = "average"
