"""AdaptiveMaxPooling2D: the maximum over windows sized so that each of the 2 spatial
axes has output_size entries, whatever the input's size."""

from __future__ import annotations

from cornu.layers.base_adaptive_pooling import BaseAdaptivePooling


class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    rank = 2
    mode = "max"
