"""Merge layers take a list of tensors: `Add()([a, b])`, `Concatenate()([a, b])`."""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Layer, Shape


class BaseMerge(Layer):
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
