"""Multiply: the elementwise product of a list of inputs of the same shape. An input's
masked entries count as 1; when every input carries a mask, the entries masked in all of
them are 0 (as Keras 3)."""

from __future__ import annotations

from functools import reduce

import jax.numpy as jnp

from cornu.layers.base_merge import BaseElementwise, input_masks


class Multiply(BaseElementwise):
    def call(self, xs, mask=None):
        masks = input_masks(xs, mask)
        product = None
        for x, m in zip(xs, masks, strict=True):
            if m is not None:
                x = jnp.where(m, x, jnp.ones((), x.dtype))
            product = x if product is None else product * x
        if all(m is not None for m in masks):
            product = jnp.where(reduce(jnp.logical_or, masks), product,
                                jnp.zeros((), product.dtype))
        return product
