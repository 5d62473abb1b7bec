"""Conv3D: 3-D convolution over (batch, depth, height, width, channels) inputs."""

from __future__ import annotations

from cornu.layers.base_conv import BaseConv


class Conv3D(BaseConv):
    """`Conv3D(16, kernel_size=3, activation="relu")` for volumes or video clips, Keras 3's
    arguments and defaults: strides=(1, 1, 1), padding='valid' (or 'same'),
    dilation_rate=(1, 1, 1), groups=1, glorot_uniform kernel of shape
    (kd, kh, kw, channels // groups, filters), zeros bias."""

    rank = 3
