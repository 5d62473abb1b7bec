"""The functional API: a model is the graph from `cornu.Input` tensors to output tensors.

    inputs = cornu.Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    outputs = Dense(10, activation="softmax")(x)
    model = cornu.Model(inputs, outputs)

`layers` follows Keras 3: InputLayers included, ordered by depth from the inputs (ties in
the order a depth-first walk from the outputs first meets them), so weights and summaries
line up with Keras for the same model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax

from cornu.layers.base import Layer, Shape, unique_name
from cornu.layers.input_layer import InputLayer
from cornu.layers.keras_tensor import KerasTensor
from cornu.models.model import Model, output_activation_fn


def _tensors(value: Any, argument: str) -> list[KerasTensor]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    if isinstance(value, Mapping):
        raise TypeError(f"{argument} as a dict is not supported yet; pass a list of tensors. "
                        f"Received: {argument} with keys {list(value)}")
    bad = [t for t in items if not isinstance(t, KerasTensor)]
    if bad or not items:
        got = f"{type(bad[0]).__name__}" if bad else "an empty list"
        raise TypeError(
            f"{argument} must be symbolic tensors (cornu.Input(...) and the outputs of layers "
            f"called on them), or a list of them. Received: {got}."
        )
    return items


def _graph(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Layer]:
    """The layers from inputs to outputs in Keras' order, or an error naming the layer."""
    input_layers = [t.layer for t in inputs]
    first_seen: dict[Layer, int] = {}
    post_order: list[Layer] = []
    finished: set[Layer] = set()
    consumer: dict[Layer, Layer | None] = {}
    for out in outputs:
        stack: list[tuple[Layer, int]] = [(out.layer, 0)]
        consumer.setdefault(out.layer, None)
        while stack:
            layer, child = stack.pop()
            if child == 0:
                if layer in finished:
                    continue
                first_seen.setdefault(layer, len(first_seen))
                if isinstance(layer, InputLayer) and layer not in input_layers:
                    user = consumer[layer]
                    where = f"layer '{user.name}'" if user else "the outputs"
                    raise ValueError(
                        f"Graph disconnected: {where} needs input '{layer.name}', which is "
                        f"not among the model's inputs {[t.name for t in inputs]}. Add it to "
                        "Model(inputs=[...])."
                    )
            inbound = [] if isinstance(layer, InputLayer) else list(layer._inbound or [])
            if not isinstance(layer, InputLayer) and layer._inbound is None:
                raise ValueError(f"Layer '{layer.name}' is in the graph but was never called "
                                 "on a tensor.")
            if child < len(inbound):
                stack.append((layer, child + 1))
                parent = inbound[child].layer
                consumer.setdefault(parent, layer)
                stack.append((parent, 0))
            else:
                finished.add(layer)
                post_order.append(layer)
    unused = [layer for layer in input_layers if layer not in first_seen]
    if unused:
        raise ValueError(
            f"Input '{unused[0].name}' is not connected to the model's outputs "
            f"{[t.name for t in outputs]}: no output depends on it. Use it in the graph or "
            "remove it from Model(inputs=...)."
        )
    # depth: the longest path to an output; Keras lists the deepest (the inputs) first
    depth: dict[Layer, int] = {}
    for layer in reversed(post_order):
        d = depth.setdefault(layer, 0)
        for t in ([] if isinstance(layer, InputLayer) else layer._inbound):
            depth[t.layer] = max(depth.get(t.layer, 0), d + 1)
    layers = sorted(post_order, key=lambda layer: (-depth[layer], first_seen[layer]))
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             "model. Layer names must be unique: pass name=... to tell them "
                             "apart.")
    return layers


class Functional(Model):
    """`cornu.Model(inputs, outputs)`: one or several inputs and outputs, branches, merges."""

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None) -> None:
        super().__init__(name=name or unique_name("functional"))
        self._inputs = _tensors(inputs, "inputs")
        self._outputs = _tensors(outputs, "outputs")
        for t in self._inputs:
            if not isinstance(t.layer, InputLayer):
                raise ValueError(
                    f"inputs must be tensors made by cornu.Input(...). Received the output of "
                    f"layer '{t.layer.name}' ({type(t.layer).__name__})."
                )
        if len({id(t) for t in self._inputs}) != len(self._inputs):
            raise ValueError(f"inputs lists a tensor twice: {[t.name for t in self._inputs]}")
        self._layers = _graph(self._inputs, self._outputs)
        self._index = {layer: i for i, layer in enumerate(self._layers)}
        self._init_weights()

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self) -> KerasTensor | list[KerasTensor]:
        return self._inputs[0] if len(self._inputs) == 1 else list(self._inputs)

    @property
    def output(self) -> KerasTensor | list[KerasTensor]:
        return self._outputs[0] if len(self._outputs) == 1 else list(self._outputs)

    @property
    def input_names(self) -> list[str]:
        return [t.layer.name for t in self._inputs]

    def _input_names(self) -> list[str]:
        return self.input_names

    def _output_layers(self) -> list[Layer]:
        return [t.layer for t in self._outputs]

    @property
    def output_names(self) -> list[str]:
        """The names of the output layers (Keras' keys for per-output losses and logs)."""
        return [t.layer.name for t in self._outputs]

    @property
    def input_shape(self) -> Shape | list[Shape]:
        shapes = [tuple(t.shape) for t in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Shape | list[Shape]:
        shapes = [tuple(t.shape) for t in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built (its weights made) when it is constructed."""

    # -- computing ------------------------------------------------------------------------------
    def _forward(self, params, state, x, *, training: bool, rng, logits: bool,
                 sample_mask=None):
        xs = list(x) if isinstance(x, list | tuple) else [x]
        if len(xs) != len(self._inputs):
            raise ValueError(
                f"Model '{self.name}' has {len(self._inputs)} inputs {self.input_names}; "
                f"received {len(xs)} arrays. Pass a list with one array per input."
            )
        n = len(self._layers)
        keys = jax.random.split(rng, n) if rng is not None else [None] * n
        output_layers = {t.layer for t in self._outputs}
        values: dict[Layer, Any] = {t.layer: v for t, v in zip(self._inputs, xs, strict=True)}
        pre_activation: dict[Layer, Any] = {}
        new_state = list(state)
        for i, layer in enumerate(self._layers):
            if isinstance(layer, InputLayer):
                continue
            args = [values[t.layer] for t in layer._inbound]
            arg = args[0] if len(args) == 1 else args
            if logits and layer in output_layers and layer.output_activation is not None:
                z = layer.run_logits(params[i], arg, training=training, rng=keys[i])
                pre_activation[layer] = z
                values[layer] = output_activation_fn(layer)(z)
            else:
                values[layer], new_state[i] = layer.run(
                    params[i], state[i], arg, training=training, rng=keys[i],
                    sample_mask=sample_mask)
        outs = [values[t.layer] for t in self._outputs]
        zs = [pre_activation.get(t.layer) for t in self._outputs]
        logits_out = zs if any(z is not None for z in zs) else None
        if len(outs) == 1:
            return outs[0], (None if logits_out is None else zs[0]), new_state
        return outs, logits_out, new_state

    # -- config -------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layers": [{
                "class_name": type(layer).__name__,
                "config": layer.get_config(),
                "inbound": [] if isinstance(layer, InputLayer)
                else [t.layer.name for t in layer._inbound],
            } for layer in self._layers],
            "inputs": self.input_names,
            "outputs": self.output_names,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    registry: Mapping[str, type[Layer]]) -> Functional:
        """Rebuild the graph from `get_config()`, making layers only from `registry`
        (class name -> class)."""
        tensors: dict[str, KerasTensor] = {}
        for entry in config["layers"]:
            class_name = entry["class_name"]
            layer_cls = registry.get(class_name)
            if layer_cls is None and class_name == "InputLayer":
                layer_cls = InputLayer
            if layer_cls is None:
                raise ValueError(
                    f"Unknown layer class '{class_name}' in the config of model "
                    f"'{config.get('name')}'. Known: {', '.join(sorted(registry))}."
                )
            layer = layer_cls.from_config(entry["config"])
            if isinstance(layer, InputLayer):
                tensors[layer.name] = layer.output
                continue
            missing = [name for name in entry["inbound"] if name not in tensors]
            if missing or not entry["inbound"]:
                raise ValueError(
                    f"Layer '{layer.name}' in the config takes inputs {entry['inbound']}, "
                    f"but {missing or 'none'} come before it."
                )
            inbound = [tensors[name] for name in entry["inbound"]]
            tensors[layer.name] = layer(inbound[0] if len(inbound) == 1 else inbound)

        def pick(names: Sequence[str], what: str) -> list[KerasTensor]:
            unknown = [name for name in names if name not in tensors]
            if unknown:
                raise ValueError(f"The config's {what} {unknown} are not layers of the model.")
            return [tensors[name] for name in names]

        return cls(pick(config["inputs"], "inputs"), pick(config["outputs"], "outputs"),
                   name=config.get("name"))
