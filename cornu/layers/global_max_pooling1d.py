"""GlobalMaxPooling1D: the maximum over all spatial axes (1-D), one value per channel."""

from __future__ import annotations

from cornu.layers.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling1D(BaseGlobalPooling):
    rank = 1
    mode = "max"
