"""Conv1DTranspose: the transposed 1-D convolution over (batch, steps, channels)."""

from __future__ import annotations

from cornu.layers.base_conv_transpose import BaseConvTranspose


class Conv1DTranspose(BaseConvTranspose):
    """`Conv1DTranspose(8, 3, strides=2, padding="same")` doubles the steps; Keras 3's
    arguments and defaults, kernel (k, filters, channels)."""

    rank = 1
