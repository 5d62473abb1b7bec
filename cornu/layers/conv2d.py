"""Conv2D: 2-D convolution over (batch, height, width, channels) inputs."""

from __future__ import annotations

from cornu.layers.base_conv import BaseConv


class Conv2D(BaseConv):
    """`Conv2D(32, kernel_size=(3, 3), activation="relu")`, Keras 3's arguments and defaults:
    strides=(1, 1), padding='valid' (or 'same'), dilation_rate=(1, 1), groups=1,
    glorot_uniform kernel of shape (kh, kw, channels // groups, filters), zeros bias."""

    rank = 2
