"""SeparableConv2D: a depthwise convolution of (batch, height, width, channels) images
followed by a 1x1 convolution to `filters` channels; weights depthwise_kernel
(kh, kw, channels, depth_multiplier), pointwise_kernel (1, 1, channels * depth_multiplier,
filters), bias (filters,)."""

from __future__ import annotations

from cornu.layers.base_separable_conv import BaseSeparableConv


class SeparableConv2D(BaseSeparableConv):
    rank = 2
