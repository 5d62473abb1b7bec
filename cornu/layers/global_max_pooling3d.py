"""GlobalMaxPooling3D: the maximum over all spatial axes (3-D), one value per channel."""

from __future__ import annotations

from cornu.layers.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling3D(BaseGlobalPooling):
    rank = 3
    mode = "max"
