"""Maximum: the elementwise maximum of a list of inputs of the same shape."""

from __future__ import annotations

import jax.numpy as jnp

from cornu.layers.base_merge import BaseElementwise


class Maximum(BaseElementwise):
    def call(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = jnp.maximum(out, x)
        return out
