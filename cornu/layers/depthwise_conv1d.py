"""DepthwiseConv1D: each channel of (batch, steps, channels) convolved with its own
`depth_multiplier` filters; kernel (k, channels, depth_multiplier)."""

from __future__ import annotations

from cornu.layers.base_depthwise_conv import BaseDepthwiseConv


class DepthwiseConv1D(BaseDepthwiseConv):
    rank = 1
