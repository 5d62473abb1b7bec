"""Dot: the dot product of two inputs, sample by sample (Keras' batch_dot): `axes` names one
axis of each input (never the batch axis), of equal sizes, which is summed over; the output
holds the first input's other axes, then the second's. A result of shape (batch,) becomes
(batch, 1). With normalize=True both inputs are L2-normalised along those axes first, so the
result is the cosine similarity."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers.base import Shape
from cornu.layers.base_merge import BaseMerge

_MAX_SCALE = 1e7  # 1 / epsilon with Keras' default epsilon=1e-7


def _axis(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Dot(BaseMerge):
    def __init__(self, axes: int | tuple[int, int] | list[int], normalize: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not _axis(axes) and not (isinstance(axes, list | tuple) and len(axes) == 2
                                    and all(map(_axis, axes))):
            raise ValueError("axes must be an integer or a tuple of 2 integers (one axis of "
                             f"each input). Received: axes={axes!r}")
        self.axes = axes if _axis(axes) else list(axes)
        self.normalize = bool(normalize)

    def _pair(self, ranks: tuple[int, int]) -> tuple[int, int]:
        """The two axes as non-negative numbers (negative ones count from each input's end)."""
        axes = (self.axes, self.axes) if _axis(self.axes) else tuple(self.axes)
        return tuple(a % r if -r <= a < r else a for a, r in zip(axes, ranks, strict=True))

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._shapes(input_shape)
        if len(shapes) != 2:
            raise ValueError(
                f"Layer '{self.name}' (Dot) takes exactly 2 inputs, Dot(axes)([a, b]). "
                f"Received {len(shapes)} inputs of shapes "
                f"{', '.join(str(s) for s in shapes)}.")
        a, b = shapes
        i, j = self._pair((len(a), len(b)))
        if not (0 < i < len(a) and 0 < j < len(b)):
            raise ValueError(
                f"Layer '{self.name}' (Dot): axes={self.axes} must name a non-batch axis of "
                f"each input. Received shapes: {a}, {b}.")
        if a[i] is not None and b[j] is not None and a[i] != b[j]:
            raise self._mismatch(shapes, f"whose axes {(i, j)} have the same size")
        out = (*a[:i], *a[i + 1:], *b[1:j], *b[j + 1:])
        return out if len(out) > 1 else (*out, 1)

    def call(self, xs):
        a, b = xs
        i, j = self._pair((a.ndim, b.ndim))
        if self.normalize:
            a, b = _unit(a, i), _unit(b, j)
        y = jax.vmap(lambda p, q: jnp.tensordot(p, q, axes=(i - 1, j - 1)))(a, b)
        return y if y.ndim > 1 else y[:, None]

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _unit(x, axis):
    squares = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    return x * jnp.minimum(jax.lax.rsqrt(squares), _MAX_SCALE)
