"""Input and InputLayer: declare the shape a model takes (batch axis excluded)."""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Layer, Params, _as_shape, unique_name
from cornu.layers.keras_tensor import KerasTensor

__all__ = ["Input", "InputLayer", "KerasTensor"]

_DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64", "uint8", "bool")


class InputLayer(Layer):
    """The first layer of a functional model (and, in Keras 3, of `model.layers` there).

    `shape` excludes the batch axis; `batch_shape` includes it (its batch entry must be
    None: cornu models take any batch size). `dtype` is recorded for Keras parity; models
    feed float32, and layers that need integers (Embedding) cast.
    """

    def __init__(
        self,
        shape: tuple[int | None, ...] | None = None,
        batch_size: int | None = None,
        dtype: str | None = None,
        batch_shape: tuple[int | None, ...] | None = None,
        *,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if batch_shape is not None:
            if shape is not None:
                raise ValueError(f"Pass shape or batch_shape, not both. Received: shape={shape!r}"
                                 f", batch_shape={batch_shape!r}")
            batch_shape = tuple(batch_shape)
            batch_size, shape = (batch_shape[0], batch_shape[1:]) if batch_shape else (None, None)
        if batch_size is not None:
            raise NotImplementedError(
                f"A fixed batch size is not supported (cornu models take any batch size). "
                f"Received: batch_size={batch_size!r}. Leave it None."
            )
        if shape is None:
            raise ValueError("InputLayer needs shape=, e.g. InputLayer(shape=(784,)).")
        if dtype is not None and dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}. "
                             f"Received: dtype={dtype!r}")
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        self.shape = _as_shape(shape, "shape")
        self.dtype = dtype or "float32"
        self.build((None, *self.shape))
        self.output = KerasTensor((None, *self.shape), self, self.name)

    def call(self, params: Params, x, *, training: bool, rng):
        return x

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


def Input(  # noqa: N802 - Keras' name
    shape: tuple[int | None, ...] | None = None,
    batch_size: int | None = None,
    dtype: str | None = None,
    batch_shape: tuple[int | None, ...] | None = None,
    name: str | None = None,
) -> KerasTensor:
    """`cornu.Input(shape=(784,))`: the symbolic input of a model."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype,
                       batch_shape=batch_shape, name=name)
    return layer.output
