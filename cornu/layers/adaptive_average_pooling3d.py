"""AdaptiveAveragePooling3D: the mean over windows sized so that each of the 3 spatial
axes has output_size entries, whatever the input's size."""

from __future__ import annotations

from cornu.layers.base_adaptive_pooling import BaseAdaptivePooling


class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    rank = 3
    mode = "average"
