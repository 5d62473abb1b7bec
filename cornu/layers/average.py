"""Average: the elementwise mean of a list of inputs of the same shape."""

from __future__ import annotations

from cornu.layers.base_merge import BaseElementwise


class Average(BaseElementwise):
    def call(self, xs):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total / len(xs)
