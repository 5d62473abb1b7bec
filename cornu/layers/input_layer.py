"""Input and InputLayer: declare the shape a model takes (batch axis excluded)."""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Layer, Params, Shape, _as_shape, unique_name


class KerasTensor:
    """A symbolic tensor: a shape (batch axis first, None) and the layer that made it."""

    def __init__(self, shape: Shape, layer: Layer, name: str) -> None:
        self.shape = shape
        self.layer = layer
        self.name = name

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape} name={self.name!r}>"


class InputLayer(Layer):
    def __init__(
        self, shape: tuple[int | None, ...] | None = None, *, name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if shape is None:
            raise ValueError("InputLayer needs shape=, e.g. InputLayer(shape=(784,)).")
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        self.shape = _as_shape(shape, "shape")
        self.build((None, *self.shape))

    def call(self, params: Params, x, *, training: bool, rng):
        return x

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape)}


def Input(  # noqa: N802 - Keras' name
    shape: tuple[int | None, ...], name: str | None = None
) -> KerasTensor:
    """`cornu.Input(shape=(784,))`: the symbolic input of a model."""
    layer = InputLayer(shape=shape, name=name)
    return KerasTensor((None, *layer.shape), layer, layer.name)
