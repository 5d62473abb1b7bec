"""SeparableConv1D: a depthwise convolution of (batch, steps, channels) followed by a
kernel-size-1 convolution to `filters` channels; weights depthwise_kernel
(k, channels, depth_multiplier), pointwise_kernel (1, channels * depth_multiplier, filters),
bias (filters,)."""

from __future__ import annotations

from cornu.layers.base_separable_conv import BaseSeparableConv


class SeparableConv1D(BaseSeparableConv):
    rank = 1
