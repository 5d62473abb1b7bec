"""Activation: applies a named activation function."""

from __future__ import annotations

from typing import Any

from cornu import activations
from cornu.layers.base import Layer, Params


class Activation(Layer):
    def __init__(self, activation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._activation_name = activations.serialize(self.activation)

    def call(self, params: Params, x, *, training: bool, rng):
        return self.activation(x)

    @property
    def output_activation(self) -> str | None:
        name = self._activation_name
        return name if name in ("softmax", "sigmoid") else None

    def call_logits(self, params: Params, x, *, training: bool, rng):
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self._activation_name}
