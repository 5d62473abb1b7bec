"""Conv2DTranspose: the transposed 2-D convolution over (batch, height, width, channels)."""

from __future__ import annotations

from cornu.layers.base_conv_transpose import BaseConvTranspose


class Conv2DTranspose(BaseConvTranspose):
    """`Conv2DTranspose(16, 3, strides=2, padding="same")` doubles height and width. Keras 3's
    arguments and defaults: strides=(1, 1), padding='valid' (or 'same'), output_padding=None,
    dilation_rate=(1, 1); kernel (kh, kw, filters, channels), glorot_uniform; zeros bias."""

    rank = 2
