"""Conv3DTranspose: the transposed 3-D convolution over (batch, depth, height, width,
channels) inputs."""

from __future__ import annotations

from cornu.layers.base_conv_transpose import BaseConvTranspose


class Conv3DTranspose(BaseConvTranspose):
    """`Conv3DTranspose(8, 3, strides=2, padding="same")` doubles depth, height and width.
    Keras 3's arguments and defaults: strides=(1, 1, 1), padding='valid' (or 'same'),
    output_padding=None, dilation_rate=(1, 1, 1); kernel (kd, kh, kw, filters, channels),
    glorot_uniform; zeros bias."""

    rank = 3
