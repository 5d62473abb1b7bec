"""Conv1D: 1-D convolution over (batch, steps, channels) inputs."""

from __future__ import annotations

from cornu.layers.base_conv import BaseConv


class Conv1D(BaseConv):
    """`Conv1D(32, kernel_size=3)`, Keras 3's arguments and defaults; padding may also be
    'causal' (left padding only, so output t sees inputs up to t)."""

    rank = 1
    _paddings = ("valid", "same", "causal")
