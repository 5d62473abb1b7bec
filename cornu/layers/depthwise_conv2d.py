"""DepthwiseConv2D: each channel of (batch, height, width, channels) images convolved with
its own `depth_multiplier` filters; kernel (kh, kw, channels, depth_multiplier)."""

from __future__ import annotations

from cornu.layers.base_depthwise_conv import BaseDepthwiseConv


class DepthwiseConv2D(BaseDepthwiseConv):
    rank = 2
