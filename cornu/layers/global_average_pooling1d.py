"""GlobalAveragePooling1D: the mean over all spatial axes (1-D), one value per channel."""

from __future__ import annotations

from cornu.layers.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling1D(BaseGlobalPooling):
    supports_masking = True  # the mean over the unmasked steps, as Keras
    rank = 1
    mode = "average"
