"""GlobalMaxPooling2D: the maximum over all spatial axes (2-D), one value per channel."""

from __future__ import annotations

from cornu.layers.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling2D(BaseGlobalPooling):
    rank = 2
    mode = "max"
