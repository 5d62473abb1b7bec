"""TimeDistributed against Keras 3 from the same weights, config and errors."""

from __future__ import annotations

import numpy as np
import pytest
from layer_checks import check_layer
from rnn_checks import assert_same_as_keras, keras, sequences

from cornu import layers as L


def test_dense_matches_keras():
    assert_same_as_keras(keras.layers.TimeDistributed(keras.layers.Dense(3, activation="relu")),
                         L.TimeDistributed(L.Dense(3, activation="relu")), sequences())


def test_conv2d_per_frame_matches_keras():
    x = np.random.default_rng(1).normal(size=(2, 3, 6, 6, 2)).astype(np.float32)
    assert_same_as_keras(keras.layers.TimeDistributed(keras.layers.Conv2D(4, 3)),
                         L.TimeDistributed(L.Conv2D(4, 3)), x, atol=1e-5)


def test_layer_checks_and_config():
    layer = L.TimeDistributed(L.Dense(4))
    check_layer(layer, (None, 5, 3), output_shape=(None, 5, 4), params=16)
    config = layer.get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 4
    again = L.TimeDistributed.from_config(config)
    assert type(again.layer) is L.Dense


def test_errors():
    with pytest.raises(ValueError, match="must be a cornu layer"):
        L.TimeDistributed(None)
    with pytest.raises(ValueError, match="at least 3 axes"):
        L.TimeDistributed(L.Dense(2))(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="unknown class 'Nope'"):
        L.TimeDistributed.from_config({"layer": {"class_name": "Nope", "config": {}}})
