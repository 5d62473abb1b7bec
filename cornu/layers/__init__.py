"""Layers, by their Keras 3 names."""

from cornu.layers.activation import Activation
from cornu.layers.base import Layer
from cornu.layers.dense import Dense
from cornu.layers.input_layer import Input, InputLayer, KerasTensor

__all__ = ["Activation", "Dense", "Input", "InputLayer", "KerasTensor", "Layer"]
