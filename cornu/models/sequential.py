"""Sequential: a stack of layers, each feeding the next.

Once the input shape is known (an `Input` first, `input_shape=` on the first layer, or
the first data), the layers are called on a symbolic input, so every layer has its
`input`/`output` tensors and the model its `inputs`/`outputs`, as in Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cornu import variables
from cornu.layers.base import Layer, call_with_mask, unique_name
from cornu.layers.input_layer import Input, InputLayer, KerasTensor
from cornu.models.model import Model


class Sequential(Model):
    def __init__(self, layers: Sequence[Layer | KerasTensor] | None = None,
                 name: str | None = None, trainable: bool = True, **kwargs: Any) -> None:
        super().__init__(name=name or unique_name("sequential"), trainable=trainable, **kwargs)
        self._stack: list[Layer] = []
        self._input: KerasTensor | None = None
        self._input_named_by: Layer | None = None
        self._output: Any = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if self._input is not None:
            self._build_graph()

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    @property
    def _layers(self) -> list[Layer]:
        return list(self._stack)

    def _named_sublayers(self) -> list[tuple[str, Layer]]:
        return [(f"layers/{i}", layer) for i, layer in enumerate(self._stack)]

    def add(self, layer: Layer | KerasTensor, rebuild: bool = True) -> None:
        if isinstance(layer, KerasTensor):
            layer = layer.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input is not None:
                raise ValueError("An Input must be the first thing added to a Sequential model.")
            self._input = layer.output
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                "Sequential.add expects a layer, e.g. cornu.layers.Dense(10). "
                f"Received: layer={layer!r} (of type {type(layer).__name__})"
            )
        if any(layer is other for other in self._stack):
            raise ValueError(f"Layer '{layer.name}' is already in model '{self.name}'.")
        if not self._stack and self._input is None and layer._input_shape_arg is not None:
            self._input = Input(shape=layer._input_shape_arg)
            self._input_named_by = layer  # errors about the input name this layer
        self._stack.append(layer)
        self._engine = None
        variables.structure_changed()
        if rebuild and self._input is not None:
            if self._output is not None:  # extend the built graph by the new layer
                self._output = layer(self._output)
                self._output_shapes = tuple(self._output.shape)
            else:
                self._build_graph()

    def pop(self) -> Layer:
        if not self._stack:
            raise ValueError("There are no layers to pop.")
        layer = self._stack.pop()
        self._engine = None
        variables.structure_changed()
        if self._output is not None:
            self._output = None
            if self._stack:
                self._build_graph()
            else:
                object.__setattr__(self, "built", False)
        return layer

    def _build_graph(self) -> None:
        if not self._stack:
            return
        x = self._input
        for layer in self._stack:
            x = layer(x)
        self._output = x
        self._build_shapes = tuple(self._input.shape)
        self._output_shapes = tuple(x.shape) if isinstance(x, KerasTensor) else [
            tuple(t.shape) for t in x]
        object.__setattr__(self, "built", True)

    def build(self, input_shape: Any = None) -> None:
        if not self._stack:
            raise ValueError(f"Model '{self.name}' has no layers: add some before using it.")
        if self._input is None:
            if input_shape is None:
                raise ValueError(f"Model '{self.name}' needs an input shape to build. "
                                 "Received: input_shape=None")
            self._input = Input(batch_shape=tuple(input_shape))
            self._input_named_by = self._stack[0]
        self._build_graph()

    def _ensure_built(self, shapes: list[tuple], dtypes: list[Any] | None = None) -> None:
        if not self.built:
            self.build((None, *shapes[0][1:]))

    def call(self, inputs, training=None):
        x, mask = inputs, None
        for layer in self._stack:  # `training` reaches the layers through the call context
            x, mask = call_with_mask(layer, (x,), {}, mask)
        if mask is not None:  # for the compiled loss and metrics
            variables.record_mask(x, mask)
        return x

    @property
    def inputs(self) -> list[KerasTensor]:
        self._require_built("its inputs")
        return [self._input]

    @property
    def outputs(self) -> list[KerasTensor]:
        self._require_built("its outputs")
        return [self._output]

    @property
    def input(self) -> KerasTensor:
        return self.inputs[0]

    @property
    def output(self) -> KerasTensor:
        return self.outputs[0]

    @property
    def input_shape(self) -> Any:
        return None if self._input is None else tuple(self._input.shape)

    def _input_names(self) -> list[str]:
        if self._input_named_by is not None:
            return [self._input_named_by.name]
        return [self._input.layer.name] if self._input is not None else ["input"]

    def _input_dtypes(self) -> list[Any]:
        return [self._input.dtype] if self._input is not None else [None]

    @property
    def output_names(self) -> list[str]:
        return [self._stack[-1].name] if self._stack else []

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "input_shape": list(self._input.shape[1:]) if self._input is not None else None,
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                       for layer in self._stack],
        }
        if self._input is not None and self._input.dtype == "string":
            config["input_dtype"] = "string"  # read by a host step (Model._host_steps)
        return config

