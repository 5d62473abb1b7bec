"""Multiply: the elementwise product of a list of inputs of the same shape."""

from __future__ import annotations

from cornu.layers.base_merge import BaseElementwise


class Multiply(BaseElementwise):
    def call(self, xs):
        product = xs[0]
        for x in xs[1:]:
            product = product * x
        return product
