"""Sequential: a stack of layers, each feeding the next."""

from __future__ import annotations

from collections.abc import Sequence

import jax

from cornu.layers.base import Layer, Shape, unique_name
from cornu.layers.input_layer import InputLayer, KerasTensor
from cornu.models.model import Model, output_activation_fn
from cornu.training import rng as global_rng


class Sequential(Model):
    def __init__(self, layers: Sequence[Layer | KerasTensor] | None = None,
                 name: str | None = None) -> None:
        super().__init__(name=name or unique_name("sequential"))
        self._layers: list[Layer] = []
        self._input_shape: Shape | None = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def input_shape(self) -> Shape | None:
        return self._input_shape

    def add(self, layer: Layer | KerasTensor) -> None:
        if isinstance(layer, KerasTensor):
            layer = layer.layer
        if isinstance(layer, InputLayer):
            if self._layers or self._input_shape is not None:
                raise ValueError("An Input must be the first thing added to a Sequential model.")
            self._input_shape = (None, *layer.shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                "Sequential.add expects a layer, e.g. cornu.layers.Dense(10). "
                f"Received: layer={layer!r} (of type {type(layer).__name__})"
            )
        if layer in self._layers:
            raise ValueError(f"Layer '{layer.name}' is already in model '{self.name}'.")
        if not self._layers and self._input_shape is None and layer._input_shape_arg is not None:
            self._input_shape = (None, *layer._input_shape_arg)
        elif self._layers and layer._input_shape_arg is not None and self.built:
            expected = (None, *layer._input_shape_arg)
            if tuple(expected) != tuple(self._layers[-1].output_shape):
                raise ValueError(
                    f"Layer '{layer.name}' was given input_shape={layer._input_shape_arg}, but "
                    f"the previous layer outputs {self._layers[-1].output_shape}."
                )
        self._layers.append(layer)
        if self.built:  # extend: build the new layer on the last output and make its weights
            layer.build(self._layers[-2].output_shape if len(self._layers) > 1
                        else self._input_shape)
            self._params = [*self._params, layer.init(global_rng.next_key())]
            self._state = [*self._state, layer.init_state()]
            self._engine = None
        elif self._input_shape is not None:
            self.build(self._input_shape)

    def pop(self) -> Layer:
        if not self._layers:
            raise ValueError("There are no layers to pop.")
        layer = self._layers.pop()
        if self.built:
            self._params, self._state = self._params[:-1], self._state[:-1]
            self._engine = None
        return layer

    def build(self, input_shape: Shape) -> None:
        if not self._layers:
            raise ValueError(f"Model '{self.name}' has no layers: add some before using it.")
        shape = tuple(input_shape)
        self._input_shape = shape
        for layer in self._layers:
            shape = layer.build(shape)
        self._init_weights()

    def _forward(self, params, state, x, *, training: bool, rng, logits: bool,
                 sample_mask=None):
        n = len(self._layers)
        keys = jax.random.split(rng, n) if rng is not None else [None] * n
        new_state = []
        for i, layer in enumerate(self._layers):
            if logits and i == n - 1 and layer.output_activation is not None:
                z = layer.run_logits(params[i], x, training=training, rng=keys[i])
                new_state.append(state[i])
                return output_activation_fn(layer)(z), z, new_state
            x, s = layer.run(params[i], state[i], x, training=training, rng=keys[i],
                             sample_mask=sample_mask)
            new_state.append(s)
        return x, None, new_state

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "input_shape": list(self._input_shape[1:]) if self._input_shape else None,
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                       for layer in self._layers],
        }
