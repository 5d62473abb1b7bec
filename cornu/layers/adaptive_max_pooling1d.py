"""AdaptiveMaxPooling1D: the maximum over windows sized so that the steps axis has
output_size entries, whatever the input's length."""

from __future__ import annotations

from cornu.layers.base_adaptive_pooling import BaseAdaptivePooling


class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    rank = 1
    mode = "max"
