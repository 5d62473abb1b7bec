"""AlphaDropout: dropout that keeps the mean and variance of its inputs, for self-normalising
networks (SELU activations, lecun_normal kernels). In training each value is, with
probability `rate`, set to SELU's negative saturation value -alpha * scale instead of 0,
then all are moved by the affine map a * x + b that restores zero mean and unit variance;
at inference it is the identity. Masks come from the layer's SeedGenerator, as Dropout's."""

from __future__ import annotations

from cornu import random
from cornu.layers.dropout import Dropout

_ALPHA = 1.6732632423543772848170429916717
_SCALE = 1.0507009873554804934193349852946
_SATURATION = -_ALPHA * _SCALE  # SELU's limit for large negative inputs


class AlphaDropout(Dropout):
    """`AlphaDropout(rate, noise_shape=None, seed=None)`, Keras 3's arguments."""

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else tuple(
            n if d is None else d for d, n in zip(self.noise_shape, inputs.shape, strict=True))
        kept = (random.uniform(shape, seed=self.seed_generator) >= self.rate).astype(
            inputs.dtype)
        rate = self.rate
        a = ((1.0 - rate) * (1.0 + rate * _SATURATION ** 2)) ** -0.5
        b = -a * _SATURATION * rate
        return a * (inputs * kept + _SATURATION * (1.0 - kept)) + b
