"""Activation: applies an activation function."""

from __future__ import annotations

from typing import Any

from cornu import activations
from cornu.layers.base import Layer


class Activation(Layer):
    supports_masking = True  # hands the input's mask on, as Keras
    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
