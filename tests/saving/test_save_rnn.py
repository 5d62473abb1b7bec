"""Recurrent models saved and loaded: a user-written cell inside RNN, Bidirectional and
TimeDistributed loads through registration or custom_objects only, and predicts the same."""

from __future__ import annotations

import numpy as np
import pytest

import cornu
from cornu import layers as L
from cornu import ops
from cornu.saving import CornuFileError, load_model


class DecayCell(L.Layer):
    """A cell as in Keras' RNN guide: state_size and call(inputs, states)."""

    def __init__(self, units, decay=0.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.decay, self.state_size = units, decay, units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(inputs, self.kernel)) + self.decay * states[0]
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "decay": self.decay}


def _model():
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([
        cornu.Input(shape=(6, 3)),
        L.TimeDistributed(L.Dense(4)),
        L.Bidirectional(L.RNN(DecayCell(3), return_sequences=True), merge_mode="mul"),
        L.RNN([DecayCell(2, decay=0.25), L.LSTMCell(2)]),
        L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 6, 3)).astype(np.float32)
    model.fit(x, x[:, 0, :1], epochs=1, verbose=0)
    return model, x


def test_user_cell_model_round_trips_with_custom_objects(tmp_path):
    model, x = _model()
    path = tmp_path / "m.cornu"
    model.save(path)
    with pytest.raises(CornuFileError, match="DecayCell"):
        load_model(path)
    loaded = load_model(path, custom_objects={"DecayCell": DecayCell})
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    cell = loaded.layers[2].cell.cells[0]
    assert type(cell) is DecayCell and cell.decay == 0.25


def test_registered_cell_loads_without_custom_objects(tmp_path):
    registered = cornu.saving.register_keras_serializable(package="rnn_save")(
        type("RegisteredDecayCell", (DecayCell,), {}))
    model = cornu.Sequential([cornu.Input(shape=(4, 2)), L.RNN(registered(3))])
    path = tmp_path / "m.cornu"
    model.save(path)
    loaded = load_model(path)
    x = np.ones((2, 4, 2), np.float32)
    assert type(loaded.layers[0].cell) is registered
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
