"""Maximum: the elementwise maximum of a list of inputs of the same shape; an
input's masked entries are left out (as Keras 3)."""

from __future__ import annotations

import jax.numpy as jnp

from cornu.layers.base_merge import BaseElementwise, masked_extreme


class Maximum(BaseElementwise):
    def call(self, xs, mask=None):
        return masked_extreme(jnp.maximum, xs, mask)
