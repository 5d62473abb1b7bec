"""Layers that hold layers (an RNN's cell, Bidirectional, TimeDistributed) in Keras'
files: `.keras` both ways (the held layer's variables under the attribute that holds it,
`cell/vars`, `forward_layer/cell/vars`, ...) and legacy `.h5` from Keras, with the same
predictions (1e-5) and the optimizer state."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.saving import load_model  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
logging.getLogger("absl").setLevel(logging.ERROR)


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def recurrent(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((5, 3)), L.Bidirectional(L.LSTM(4, return_sequences=True)),
                           L.TimeDistributed(L.Dense(2)), L.GRU(3, return_sequences=True),
                           L.SimpleRNN(2), L.Dense(1)])


X = np.random.default_rng(0).normal(size=(4, 5, 3)).astype(np.float32)


def trained(lib):
    model = recurrent(lib)
    model.compile(optimizer=lib.optimizers.Adam(), loss=lib.losses.MeanSquaredError())
    model.fit(X, np.ones((4, 1), np.float32), epochs=2, batch_size=4, verbose=0)
    return model


def predict(model):
    return np.asarray(model.predict(X, verbose=0))


def test_keras_file_from_keras(tmp_path):
    theirs = trained(keras)
    theirs.save(tmp_path / "k.keras")
    ours = load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(predict(ours), predict(theirs), **TOL)
    assert int(ours.optimizer.iterations.value) == 2
    for model in (ours, theirs):
        model.fit(X, np.ones((4, 1), np.float32), epochs=1, batch_size=4, verbose=0)
    np.testing.assert_allclose(predict(ours), predict(theirs), **TOL)


def test_keras_file_from_cornu(tmp_path):
    ours = trained(cornu)
    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    np.testing.assert_allclose(predict(theirs), predict(ours), **TOL)
    assert int(theirs.optimizer.iterations) == 2
    ours.save_weights(tmp_path / "c.weights.h5")
    again = recurrent(keras)
    again.load_weights(tmp_path / "c.weights.h5")
    np.testing.assert_allclose(predict(again), predict(ours), **TOL)


def test_legacy_h5_from_keras(tmp_path):
    theirs = trained(keras)
    theirs.save(tmp_path / "k.h5")
    ours = load_model(tmp_path / "k.h5")
    np.testing.assert_allclose(predict(ours), predict(theirs), **TOL)
    ours.save(tmp_path / "c.h5")
    back = keras.models.load_model(tmp_path / "c.h5")
    np.testing.assert_allclose(predict(back), predict(theirs), **TOL)
