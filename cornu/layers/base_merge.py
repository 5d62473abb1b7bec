"""Merge layers take a list of tensors: `Add()([a, b])`, `Concatenate()([a, b])`.

Masks pass through them as in Keras 3: the output is masked (False) only where every
input is, and only when every input carries a mask (Concatenate joins the masks instead,
Dot drops them); Multiply, Maximum and Minimum leave each input's masked entries out of
the result."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import jax.numpy as jnp

from cornu.layers.base import Layer, Shape


def input_masks(xs: Any, mask: Any) -> list[Any]:
    """Each input's mask (a time step's mask covers its features: broadcast to the input's
    shape), or None for an input without one."""
    if mask is None:
        return [None] * len(xs)
    if not isinstance(mask, list | tuple) or len(mask) != len(xs):
        raise ValueError(f"mask must be a list with one mask (or None) per input, "
                         f"{len(xs)} in all. Received: mask={mask!r}")
    found = []
    for x, m in zip(xs, mask, strict=True):
        if m is not None:
            m = jnp.asarray(m, bool)
            m = jnp.broadcast_to(m[..., None] if m.ndim < x.ndim else m, x.shape)
        found.append(m)
    return found


def masked_extreme(op: Callable[[Any, Any], Any], xs: Any, mask: Any) -> Any:
    """Fold `op` (jnp.maximum, jnp.minimum) over the inputs, an input's masked entries
    left out: where one side is masked the other side's value stands (where all are, the
    first input's)."""
    masks = input_masks(xs, mask)
    result, real = xs[0], masks[0]  # real: where result holds an unmasked value (None: all)
    for x, m in zip(xs[1:], masks[1:], strict=True):
        if m is not None:
            x = jnp.where(m, x, result)
        if real is not None:
            result = jnp.where(real, result, x)
        real = None if real is None or m is None else real | m
        result = op(result, x)
    return result


class BaseMerge(Layer):
    supports_masking = True

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """Masked where every input is masked; None unless every input carries a mask."""
        if previous_mask is None:
            return None
        if not isinstance(previous_mask, list | tuple) or len(previous_mask) != len(inputs):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) takes one mask "
                             f"(or None) per input. Received: mask={previous_mask!r}")
        if any(m is None for m in previous_mask):
            return None
        return reduce(jnp.logical_or, [jnp.asarray(m, bool) for m in previous_mask])

    def build(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)  # refuses inputs it cannot merge

    def _shapes(self, input_shape: Any) -> list[Shape]:
        """The list of input shapes, or an error naming the layer."""
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) merges a list of at least 2 "
                f"inputs, e.g. {type(self).__name__}()([a, b]). Received input shape "
                f"{input_shape}."
            )
        return [tuple(s) for s in input_shape]

    def _mismatch(self, shapes: list[Shape], rule: str) -> ValueError:
        return ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) needs inputs {rule}. Received "
            f"shapes: {', '.join(str(s) for s in shapes)}."
        )


class BaseElementwise(BaseMerge):
    """Elementwise merges: inputs of one rank whose sizes match (or are 1, broadcast)."""

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shapes(input_shape)
        rule = "of the same shape (a size of 1 broadcasts)"
        if len({len(s) for s in shapes}) != 1:
            raise self._mismatch(shapes, rule)
        out = []
        for dims in zip(*shapes, strict=True):
            known = {d for d in dims if d is not None and d != 1}
            if len(known) > 1:
                raise self._mismatch(shapes, rule)
            if known:
                out.append(known.pop())
            elif None in dims:
                out.append(None)
            else:
                out.append(1)
        return tuple(out)
