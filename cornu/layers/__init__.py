"""Layers, by their Keras 3 names."""

from cornu.layers.activation import Activation
from cornu.layers.add import Add
from cornu.layers.average_pooling1d import AveragePooling1D
from cornu.layers.average_pooling2d import AveragePooling2D
from cornu.layers.base import Layer
from cornu.layers.batch_normalization import BatchNormalization
from cornu.layers.bidirectional import Bidirectional
from cornu.layers.concatenate import Concatenate
from cornu.layers.conv1d import Conv1D
from cornu.layers.conv2d import Conv2D
from cornu.layers.dense import Dense
from cornu.layers.dropout import Dropout
from cornu.layers.embedding import Embedding
from cornu.layers.flatten import Flatten
from cornu.layers.global_average_pooling1d import GlobalAveragePooling1D
from cornu.layers.global_average_pooling2d import GlobalAveragePooling2D
from cornu.layers.global_max_pooling1d import GlobalMaxPooling1D
from cornu.layers.global_max_pooling2d import GlobalMaxPooling2D
from cornu.layers.gru import GRU, GRUCell
from cornu.layers.input_layer import Input, InputLayer
from cornu.layers.keras_tensor import KerasTensor
from cornu.layers.layer_normalization import LayerNormalization
from cornu.layers.lstm import LSTM, LSTMCell
from cornu.layers.max_pooling1d import MaxPooling1D
from cornu.layers.max_pooling2d import MaxPooling2D
from cornu.layers.reshape import Reshape
from cornu.layers.rnn import RNN
from cornu.layers.simple_rnn import SimpleRNN, SimpleRNNCell
from cornu.layers.stacked_rnn_cells import StackedRNNCells
from cornu.layers.time_distributed import TimeDistributed


def add(inputs, **kwargs):
    """Keras' functional form of Add: `add([a, b])`."""
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Keras' functional form of Concatenate: `concatenate([a, b], axis=-1)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


__all__ = [
    "Activation",
    "Add",
    "AveragePooling1D",
    "AveragePooling2D",
    "BatchNormalization",
    "Bidirectional",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "GRUCell",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "KerasTensor",
    "LSTM",
    "LSTMCell",
    "Layer",
    "LayerNormalization",
    "MaxPooling1D",
    "MaxPooling2D",
    "RNN",
    "Reshape",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
    "TimeDistributed",
    "add",
    "concatenate",
]
