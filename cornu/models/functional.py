"""The functional API: a model is the graph from `cornu.Input` tensors to output tensors.

    inputs = cornu.Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    outputs = Dense(10, activation="softmax")(x)
    model = cornu.Model(inputs, outputs)

The graph is made of nodes (one per layer call): a layer called on two tensors has two
nodes and one set of weights; a model is a layer, so models nest. `layers` follows Keras
3: InputLayers included, ordered by depth from the inputs (ties in the order a
depth-first walk from the outputs first meets them), so weights and summaries line up
with Keras for the same model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax

from cornu import variables
from cornu.layers.base import Layer, unique_name
from cornu.layers.input_layer import InputLayer
from cornu.layers.keras_tensor import KerasTensor, Node
from cornu.models.model import Model


def _is_tensor(t: Any) -> bool:
    return isinstance(t, KerasTensor)


def _tensors(value: Any, argument: str) -> list[KerasTensor]:
    # a dict keeps the order it was written in (a pytree would sort its keys)
    items = list(value.values()) if isinstance(value, Mapping) else jax.tree.leaves(
        value, is_leaf=_is_tensor)
    bad = [t for t in items if not isinstance(t, KerasTensor)]
    if bad or not items:
        got = f"{type(bad[0]).__name__}" if bad else "an empty list"
        raise TypeError(
            f"{argument} must be symbolic tensors (cornu.Input(...) and the outputs of layers "
            f"called on them), or a list or dict of them. Received: {got}."
        )
    return items


def _node_of(t: KerasTensor) -> Node:
    layer, index, _ = t._keras_history
    return layer._inbound_nodes[index]


def _graph(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> tuple[list[Node],
                                                                             list[Layer]]:
    """The nodes from inputs to outputs in execution order, and the layers in Keras'
    order, or an error naming what is disconnected."""
    input_ids = {id(t) for t in inputs}
    first_seen: dict[int, int] = {}
    post_order: list[Node] = []
    finished: set[int] = set()
    for out in outputs:
        stack: list[tuple[Node, int, Any]] = [(_node_of(out), 0, None)]
        while stack:
            node, child, user = stack.pop()
            if child == 0:
                if id(node) in finished:
                    continue
                first_seen.setdefault(id(node), len(first_seen))
                if isinstance(node.layer, InputLayer) and id(node.outputs) not in input_ids:
                    where = f"layer '{user.layer.name}'" if user else "the outputs"
                    raise ValueError(
                        f"Graph disconnected: {where} needs input '{node.layer.name}', which "
                        f"is not among the model's inputs {[t.name for t in inputs]}. Add it "
                        "to Model(inputs=[...]).")
            parents = [] if id(node.outputs) in input_ids else node.inputs
            if child < len(parents):
                stack.append((node, child + 1, user))
                stack.append((_node_of(parents[child]), 0, node))
            else:
                finished.add(id(node))
                post_order.append(node)
    unused = [t for t in inputs if id(_node_of(t)) not in first_seen]
    if unused:
        raise ValueError(
            f"Input '{unused[0].name}' is not connected to the model's outputs "
            f"{[t.name for t in outputs]}: no output depends on it. Use it in the graph or "
            "remove it from Model(inputs=...).")
    # depth: the longest path to an output; Keras lists the deepest (the inputs) first
    depth: dict[int, int] = {}
    for node in reversed(post_order):
        d = depth.setdefault(id(node), 0)
        if id(node.outputs) in input_ids:
            continue
        for t in node.inputs:
            parent = _node_of(t)
            depth[id(parent)] = max(depth.get(id(parent), 0), d + 1)
    ordered = sorted(post_order, key=lambda n: (-depth[id(n)], first_seen[id(n)]))
    layers: list[Layer] = []
    for node in ordered:
        if not any(node.layer is layer for layer in layers):
            layers.append(node.layer)
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             "model. Layer names must be unique: pass name=... to tell them "
                             "apart.")
    return post_order, layers


class Functional(Model):
    """`cornu.Model(inputs, outputs)`: one or several inputs and outputs, branches, merges,
    shared layers and nested models."""

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        super().__init__(name=name or unique_name("functional"), trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._inputs = _tensors(inputs, "inputs")
        self._outputs = _tensors(outputs, "outputs")
        for t in self._inputs:
            if not isinstance(t.layer, InputLayer):
                raise ValueError(
                    f"inputs must be tensors made by cornu.Input(...). Received the output of "
                    f"layer '{t.layer.name}' ({type(t.layer).__name__}).")
        if len({id(t) for t in self._inputs}) != len(self._inputs):
            raise ValueError(f"inputs lists a tensor twice: {[t.name for t in self._inputs]}")
        self._nodes, self._graph_layers = _graph(self._inputs, self._outputs)
        self._build_shapes = [tuple(t.shape) for t in self._inputs] if len(self._inputs) > 1 \
            else tuple(self._inputs[0].shape)
        shapes = [tuple(t.shape) for t in self._outputs]
        self._output_shapes = shapes[0] if len(shapes) == 1 and not isinstance(
            outputs, Mapping | list | tuple) else shapes
        self.built = True

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._graph_layers)

    @property
    def _layers(self) -> list[Layer]:
        return list(self._graph_layers)

    def _named_sublayers(self) -> list[tuple[str, Layer]]:
        return [(f"layers/{i}", layer) for i, layer in enumerate(self._graph_layers)]

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def input(self) -> Any:
        return self._inputs[0] if len(self._inputs) == 1 else list(self._inputs)

    @property
    def output(self) -> Any:
        return self._outputs[0] if len(self._outputs) == 1 else list(self._outputs)

    @property
    def input_names(self) -> list[str]:
        return [t.layer.name for t in self._inputs]

    def _input_names(self) -> list[str]:
        return self.input_names

    def _input_dtypes(self) -> list[Any]:
        return [t.dtype for t in self._inputs]

    @property
    def output_names(self) -> list[str]:
        """The names of the output layers (Keras' keys for per-output losses and logs);
        dict outputs are named by their keys."""
        if isinstance(self._outputs_struct, Mapping):
            return list(self._outputs_struct)
        return [t.layer.name for t in self._outputs]

    @property
    def input_shape(self) -> Any:
        shapes = [tuple(t.shape) for t in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [tuple(t.shape) for t in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built (its weights made) when it is constructed."""

    # -- computing ------------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        if isinstance(inputs, Mapping):
            names = self.input_names
            if isinstance(self._inputs_struct, Mapping):
                xs = [inputs[k] for k in self._inputs_struct]
            else:
                missing = [n for n in names if n not in inputs]
                if missing:
                    raise ValueError(f"Model '{self.name}' is missing inputs {missing}.")
                xs = [inputs[n] for n in names]
        else:
            xs = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        if len(xs) != len(self._inputs):
            raise ValueError(
                f"Model '{self.name}' has {len(self._inputs)} inputs {self.input_names}; "
                f"received {len(xs)} arrays. Pass a list with one array per input.")
        values: dict[int, Any] = {}
        for t, x in zip(self._inputs, xs, strict=True):
            if t.dtype == "string":  # already mapped on the host (Model._host_steps)
                values[id(t)] = x
                continue
            dtype = jax.dtypes.canonicalize_dtype(t.dtype)  # int64 is int32 without x64
            values[id(t)] = x.astype(dtype) if hasattr(x, "astype") and x.dtype != dtype else x
        masks: dict[int, Any] = {}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            result, mask = node.call(values, masks)
            for tensor, value in zip(node.flat_outputs, jax.tree.leaves(result), strict=True):
                values[id(tensor)] = value
                if mask is not None:
                    masks[id(tensor)] = mask
        outs = [values[id(t)] for t in self._outputs]
        for t, value in zip(self._outputs, outs, strict=True):
            if id(t) in masks:  # for the compiled loss and metrics (none: nothing to do)
                variables.record_mask(value, masks[id(t)])
        if isinstance(self._outputs_struct, Mapping):
            return dict(zip(self._outputs_struct, outs, strict=True))
        if isinstance(self._outputs_struct, list | tuple):
            return outs
        return outs[0]

    # -- config -------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        def ref(t: KerasTensor) -> list:
            layer, node, index = t._keras_history
            return [layer.name, node, index]

        layers = []
        for layer in self.layers:
            nodes = [n for n in self._nodes if n.layer is layer]
            entry = {"class_name": type(layer).__name__, "config": layer.get_config()}
            if isinstance(layer, InputLayer):
                entry["inbound"] = []
            elif len(nodes) == 1 and all(t._keras_history[1:] == (0, 0) for t in nodes[0].inputs) \
                    and len(nodes[0].args) == 1 and not nodes[0].kwargs:
                entry["inbound"] = [t.layer.name for t in nodes[0].inputs]
            else:
                entry["inbound_nodes"] = [[ref(t) for t in n.inputs] for n in nodes]
                if any(len(n.args) != 1 or n.kwargs for n in nodes):
                    entry["call_args"] = [_call_args(n, ref) for n in nodes]
            layers.append(entry)
        config = {"name": self.name, "layers": layers,
                  "inputs": self.input_names, "outputs": self.output_names}
        if any(t._keras_history[1:] != (0, 0) for t in self._outputs) or isinstance(
                self._outputs_struct, Mapping):
            config["output_refs"] = [ref(t) for t in self._outputs]
        return config


def _call_args(node: Node, ref: Any) -> dict[str, Any] | None:
    """A call's arguments as written in a config (None for a call on one input): tensors
    as Keras writes them ({"class_name": "__keras_tensor__", "config": {"keras_history":
    [layer, node, index]}}), other values as JSON."""
    if len(node.args) == 1 and not node.kwargs:
        return None

    def encode(value: Any) -> Any:
        if isinstance(value, KerasTensor):
            return {"class_name": "__keras_tensor__", "config": {"keras_history": ref(value)}}
        if isinstance(value, list | tuple):
            return [encode(v) for v in value]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {k: encode(v) for k, v in value.items()}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, slice):  # x[:, 1:3], as Keras writes it
            return {"class_name": "__slice__", "config": {
                "start": encode(value.start), "stop": encode(value.stop),
                "step": encode(value.step)}}
        if value is Ellipsis:
            return {"class_name": "__ellipsis__", "config": {}}
        raise NotImplementedError(
            f"Layer '{node.layer.name}' is called with an argument of type "
            f"{type(value).__name__}, which a config cannot hold. Pass it as a model input "
            "(cornu.Input) or as a layer's constructor argument to save the model, or save "
            "its weights with model.save_weights(...).")

    return {"args": encode(list(node.args)), "kwargs": encode(dict(node.kwargs))}
