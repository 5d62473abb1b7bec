"""Concatenate: join a list of inputs along `axis` (the other axes must match)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from cornu.layers.base import Shape
from cornu.layers.base_merge import BaseMerge, input_masks


class Concatenate(BaseMerge):
    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an integer. Received: axis={axis!r}")
        self.axis = axis

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shapes(input_shape)
        rank = len(shapes[0])
        rule = f"of one rank that match on every axis except axis={self.axis}"
        if any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank \
                or self.axis % rank == 0:
            raise self._mismatch(shapes, rule)
        axis = self.axis % rank
        out = []
        for i, dims in enumerate(zip(*shapes, strict=True)):
            if i == axis:
                out.append(None if None in dims else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise self._mismatch(shapes, rule)
            out.append(known.pop() if known else None)
        return tuple(out)

    def call(self, xs):
        return jnp.concatenate(list(xs), axis=self.axis)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The inputs' masks joined along `axis` (an input without one is unmasked), then a
        position is masked where all its features are, as in Keras 3."""
        if previous_mask is None:
            return None
        masks = input_masks(inputs, previous_mask)
        if all(m is None for m in masks):
            return None
        full = [jnp.ones(jnp.shape(x), bool) if m is None else m
                for x, m in zip(inputs, masks, strict=True)]
        return jnp.any(jnp.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
