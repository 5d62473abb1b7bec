"""Bidirectional: a recurrent layer run forward and a copy run backward over the same
sequences, their outputs merged ("concat", "sum", "mul", "ave", or None for both).

As in Keras, the layer given is copied from its config (named forward_<name>) and the
backward copy (backward_<name>) has go_backwards=True, unless `backward_layer` is given.
Weights: the forward layer's, then the backward layer's.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.layers import _nested
from cornu.layers.base import Layer
from cornu.layers.rnn import sequence_shape, split_inputs

_MODES = ("concat", "sum", "mul", "ave", None)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"layer must be a cornu layer (an RNN, LSTM, GRU, ...). "
                             f"Received: layer={layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"backward_layer must be a cornu layer or None. Received: "
                             f"backward_layer={backward_layer!r}")
        if merge_mode not in _MODES:
            raise ValueError(f"merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None. "
                             f"Received: merge_mode={merge_mode!r}")
        if weights is not None:
            raise ValueError("Bidirectional(weights=...) is not supported: call set_weights "
                             "on the built layer instead.")
        super().__init__(**kwargs)
        self.forward_layer = _nested.copy(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _nested.copy(
                layer, go_backwards=True, name=f"backward_{_strip(layer.name, 'backward_')}")
        self.backward_layer = backward_layer
        for attribute in ("go_backwards", "return_sequences", "return_state", "stateful"):
            if not hasattr(self.forward_layer, attribute) or not hasattr(backward_layer,
                                                                         attribute):
                raise ValueError(f"Bidirectional wraps recurrent layers (with {attribute}). "
                                 f"Received: layer={layer!r}")
        if self.forward_layer.go_backwards == backward_layer.go_backwards:
            raise ValueError(
                "The forward and backward layers must have different go_backwards. Received: "
                f"forward go_backwards={self.forward_layer.go_backwards}, backward "
                f"go_backwards={backward_layer.go_backwards}.")
        for attribute in ("return_sequences", "return_state", "stateful"):
            forward, backward = (getattr(x, attribute) for x in (self.forward_layer,
                                                                  backward_layer))
            if forward != backward:
                raise ValueError(f"The forward and backward layers must have the same "
                                 f"{attribute}. Received: {forward} (forward) and {backward} "
                                 "(backward).")
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.stateful = self.forward_layer.stateful

    def build(self, sequences_shape, initial_state_shape=None) -> None:
        sequences_shape = sequence_shape(sequences_shape)
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                layer.build(sequences_shape)
                object.__setattr__(layer, "built", True)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = sequence_shape(sequences_shape)
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states: tuple = ()
        if self.return_state:
            shape, states = shape[0], tuple(shape[1:])
        if self.merge_mode == "concat":
            shape = (*shape[:-1], shape[-1] * 2)
        outputs = (shape, shape) if self.merge_mode is None else (shape,)
        if self.return_state:
            return (*outputs, *states, *states)
        return outputs[0] if len(outputs) == 1 else list(outputs)

    supports_masking = True

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None:
            return None
        if isinstance(previous_mask, list | tuple):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        if self.merge_mode is None:
            output_mask = [output_mask, output_mask]
        elif not isinstance(output_mask, list):
            output_mask = [output_mask] if self.return_state else output_mask
        if self.return_state:
            count = len(jax.tree.leaves(self.forward_layer.cell.state_size)) * 2
            return [*output_mask, *[None] * count]
        return output_mask

    def call(self, sequences, initial_state=None, mask=None, training=None):
        sequences, initial_state = split_inputs(sequences, initial_state)
        forward_kw: dict[str, Any] = {"training": training}
        backward_kw: dict[str, Any] = {"training": training}
        if mask is not None:
            forward_kw["mask"] = backward_kw["mask"] = mask
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_kw["initial_state"] = list(initial_state[:half])
            backward_kw["initial_state"] = list(initial_state[half:])
        y = self.forward_layer(sequences, **forward_kw)
        y_rev = self.backward_layer(sequences, **backward_kw)
        states: tuple = ()
        if self.return_state:
            states = (*y[1:], *y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            outputs: tuple = (jnp.concatenate([y, y_rev], axis=-1),)
        elif self.merge_mode == "sum":
            outputs = (y + y_rev,)
        elif self.merge_mode == "ave":
            outputs = ((y + y_rev) / 2,)
        elif self.merge_mode == "mul":
            outputs = (y * y_rev,)
        else:
            outputs = (y, y_rev)
        if self.return_state:
            return (*outputs, *states)
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": _nested.serialize(self.forward_layer),
                "backward_layer": _nested.serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = dict(config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        layer = _nested.deserialize(config.pop("layer", None), "layer")
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = _nested.deserialize(backward, "backward_layer")
        return cls(layer, backward_layer=backward, **config)
