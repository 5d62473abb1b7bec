"""KerasTensor: a symbolic tensor of the functional API (a shape and where it came from)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cornu.layers.base import Layer, Shape


class KerasTensor:
    """The output of `cornu.Input(...)` or of a layer called on such tensors.

    `shape` has the batch axis first (None); `layer` is the layer that produced it.
    It holds no data: a model built from these tensors computes the values.
    """

    def __init__(self, shape: Shape, layer: Layer, name: str) -> None:
        self.shape = tuple(shape)
        self.layer = layer
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape} name={self.name!r}>"
