"""Input and InputLayer: declare the shape a model takes (batch axis excluded)."""

from __future__ import annotations

from typing import Any

from cornu.layers.base import Layer, _as_shape, unique_name
from cornu.layers.keras_tensor import KerasTensor, Node

__all__ = ["Input", "InputLayer", "KerasTensor"]

_DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64", "uint8", "bool",
           "int8", "int16", "uint16", "uint32",
           "string")  # read only by StringLookup / TextVectorization, mapped on the host


class InputLayer(Layer):
    """The first layer of a functional model (and, in Keras 3, of `model.layers` there).

    `shape` excludes the batch axis and may hold None for axes of any size; `batch_shape`
    includes it. `dtype` is the dtype the model converts this input to.
    """

    def __init__(
        self,
        shape: tuple[int | None, ...] | None = None,
        batch_size: int | None = None,
        dtype: str | None = None,
        batch_shape: tuple[int | None, ...] | None = None,
        *,
        name: str | None = None,
        sparse: bool | None = None,
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
        if shape is None:
            raise ValueError("InputLayer needs shape=, e.g. InputLayer(shape=(784,)).")
        if sparse:
            raise NotImplementedError("Sparse inputs are not supported. Received: sparse=True")
        dtype = getattr(dtype, "name", dtype)
        if dtype is not None and dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}. "
                             f"Received: dtype={dtype!r}")
        kwargs.pop("trainable", None)
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        self.shape = _as_shape(shape, "shape") if shape != () else ()
        self.batch_size = batch_size
        self._dtype = dtype or "float32"
        self.built = True
        self._build_shapes = (None, *self.shape)
        node = Node(self, (), {}, [])
        node.make_outputs(KerasTensor((batch_size, *self.shape), self._dtype))
        self._inbound_nodes.append(node)
        self._output_shapes = (None, *self.shape)

    @property
    def dtype(self) -> str:
        return self._dtype

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "shape": list(self.shape), "dtype": self._dtype}
        if self.batch_size is not None:  # a fixed batch (stateful RNNs need it)
            config["batch_size"] = self.batch_size
        return config


def Input(  # noqa: N802 - Keras' name
    shape: tuple[int | None, ...] | None = None,
    batch_size: int | None = None,
    dtype: str | None = None,
    sparse: bool | None = None,
    batch_shape: tuple[int | None, ...] | None = None,
    name: str | None = None,
    tensor: Any = None,
    optional: bool = False,
) -> KerasTensor:
    """`cornu.Input(shape=(784,))`: the symbolic input of a model."""
    if tensor is not None:
        raise NotImplementedError("Input(tensor=...) is not supported. Received a tensor.")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name)
    return layer.output
