"""Bidirectional against Keras 3 from the same weights: every merge mode, with and without
sequences and states, a given backward layer, initial states; config and errors."""

from __future__ import annotations

import numpy as np
import pytest
from layer_checks import check_layer
from rnn_checks import assert_same_as_keras, keras, sequences

import cornu
from cornu import layers as L


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("mode", [{}, {"return_sequences": True}, {"return_state": True},
                                  {"return_sequences": True, "return_state": True}],
                         ids=lambda m: "-".join(m) or "default")
def test_merge_modes_match_keras(merge_mode, mode):
    assert_same_as_keras(keras.layers.Bidirectional(keras.layers.LSTM(3, **mode), merge_mode),
                         L.Bidirectional(L.LSTM(3, **mode), merge_mode), sequences())


@pytest.mark.parametrize("name", ["GRU", "SimpleRNN"])
def test_other_layers_and_a_given_backward_layer_match_keras(name):
    assert_same_as_keras(keras.layers.Bidirectional(getattr(keras.layers, name)(3)),
                         L.Bidirectional(getattr(L, name)(3)), sequences())
    layer = L.Bidirectional(L.GRU(3, return_sequences=True),
                            backward_layer=getattr(L, name)(3, go_backwards=True,
                                                            return_sequences=True))
    assert_same_as_keras(
        keras.layers.Bidirectional(
            keras.layers.GRU(3, return_sequences=True),
            backward_layer=getattr(keras.layers, name)(3, go_backwards=True,
                                                       return_sequences=True)),
        layer, sequences())
    assert layer.forward_layer.name.startswith("forward_gru")
    assert layer.backward_layer.go_backwards


def test_initial_state_matches_keras():
    rng = np.random.default_rng(2)
    states = [rng.normal(size=(3, 3)).astype(np.float32) for _ in range(4)]
    assert_same_as_keras(keras.layers.Bidirectional(keras.layers.LSTM(3, return_state=True)),
                         L.Bidirectional(L.LSTM(3, return_state=True)), sequences(),
                         initial_state=states)


def test_layer_checks_names_and_config():
    layer = L.Bidirectional(L.LSTM(3, return_sequences=True, name="enc"), merge_mode="sum")
    check_layer(layer, (None, 5, 2), output_shape=(None, 5, 3), params=2 * 4 * (2 * 3 + 9 + 3))
    assert (layer.forward_layer.name, layer.backward_layer.name) == ("forward_enc",
                                                                     "backward_enc")
    config = layer.get_config()
    assert config["layer"]["class_name"] == "LSTM" and config["merge_mode"] == "sum"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    keras_config = keras.layers.Bidirectional(keras.layers.LSTM(3, name="enc")).get_config()
    assert set(config) - {"input_shape"} <= set(keras_config)
    x = cornu.Input(shape=(5, 2))
    outs = L.Bidirectional(L.GRU(2, return_state=True), merge_mode=None)(x)
    assert [tuple(t.shape) for t in outs] == [(None, 2)] * 4


def test_errors():
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="must be a cornu layer"):
        L.Bidirectional("lstm")
    with pytest.raises(ValueError, match="different go_backwards"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2))
    with pytest.raises(ValueError, match="the same return_sequences"):
        L.Bidirectional(L.LSTM(2), backward_layer=L.LSTM(2, go_backwards=True,
                                                         return_sequences=True))
