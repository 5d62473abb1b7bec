"""GlobalAveragePooling3D: the mean over all spatial axes (3-D), one value per channel."""

from __future__ import annotations

from cornu.layers.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling3D(BaseGlobalPooling):
    rank = 3
    mode = "average"
