"""stateful=True for SimpleRNN, LSTM, GRU and RNN(cell): the last states of a batch start
the next one (a fixed batch size), in calls, predict and fit; reset_state() zeroes them.
Compared with Keras 3 (JAX backend) from the same weights: Keras' layer calls carry the
states (its compiled predict does not: states are not among the variables its stateless
predict step returns, so there every batch starts from zeros; cornu carries them as
Keras documents)."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

import cornu
from cornu import layers as L

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

X = np.random.default_rng(0).normal(size=(3, 2, 5, 3)).astype(np.float32)  # 3 batches of 2


def _keras(fn):
    with jax.numpy_rank_promotion("allow"):
        return fn()


def _model(lib, cls, **kwargs):
    inp = lib.Input((5, 3), batch_size=2)
    if cls == "RNN":
        layer = lib.layers.RNN(lib.layers.LSTMCell(4), stateful=True, **kwargs)
    else:
        layer = getattr(lib.layers, cls)(4, stateful=True, **kwargs)
    return lib.Model(inp, layer(inp)), layer


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU", "RNN"])
def test_predict_on_batch_carries_states_as_keras_layer_calls(cls):
    ours, layer = _model(cornu, cls)
    theirs, k_layer = _keras(lambda: _model(keras, cls))
    assert len(ours.get_weights()) == len(theirs.get_weights())  # states are not weights
    _keras(lambda: theirs.set_weights(ours.get_weights()))

    def keras_run():
        first = [np.asarray(k_layer(x)) for x in X]
        k_layer.reset_state()
        return first, np.asarray(k_layer(X[0]))

    expected, after_reset = _keras(keras_run)
    got = [ours.predict_on_batch(x) for x in X]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert np.abs(got[0] - got[1]).max() > 1e-3  # the state made a difference
    layer.reset_state()
    np.testing.assert_allclose(ours.predict_on_batch(X[0]), after_reset, rtol=1e-5, atol=1e-5)
    layer.reset_states()  # Keras 2's name
    np.testing.assert_allclose(np.asarray(ours(X[0])), after_reset, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer(X[1])), expected[1], rtol=1e-5, atol=1e-5)


def test_predict_over_batches_equals_batch_by_batch_calls():
    ours, layer = _model(cornu, "GRU", return_sequences=True)
    whole = ours.predict(X.reshape(6, 5, 3), batch_size=2, verbose=0)
    final = [np.asarray(v.value) for v in layer.states]
    layer.reset_state()
    parts = np.concatenate([ours.predict_on_batch(x) for x in X])
    np.testing.assert_allclose(whole, parts, rtol=1e-6, atol=1e-6)
    for a, b in zip(final, layer.states, strict=True):
        np.testing.assert_allclose(a, np.asarray(b.value), rtol=1e-6, atol=1e-6)


def test_fit_carries_states_from_batch_to_batch():
    """With a learning rate of 1e-30 the weights stay, so the states after fit are those of
    calling the layer on the batches in order."""
    ours, layer = _model(cornu, "LSTM")
    ours.compile(optimizer=cornu.optimizers.SGD(1e-30), loss="mse")
    ours.fit(X.reshape(6, 5, 3), np.zeros((6, 4), np.float32), batch_size=2, epochs=1,
             shuffle=False, verbose=0)
    after_fit = [np.asarray(v.value) for v in layer.states]
    assert np.abs(after_fit[0]).max() > 1e-3
    layer.reset_state()
    for x in X:
        layer(x)
    for a, b in zip(after_fit, layer.states, strict=True):
        np.testing.assert_allclose(a, np.asarray(b.value), rtol=1e-5, atol=1e-5)


def test_reset_state_with_values_and_errors():
    _, layer = _model(cornu, "LSTM")
    h, c = np.ones((2, 4), np.float32), np.full((2, 4), 2.0, np.float32)
    layer.reset_state([h, c])
    np.testing.assert_array_equal(np.asarray(layer.states[1].value), c)
    with pytest.raises(ValueError, match="2 states"):
        layer.reset_state([h])
    with pytest.raises(ValueError, match="batch size 2"):
        layer(np.zeros((3, 5, 3), np.float32))
    with pytest.raises(ValueError, match="batch_size"):
        cornu.Sequential([cornu.Input((5, 3)), L.LSTM(4, stateful=True)])
    plain = L.LSTM(4)
    plain(X[0])
    assert plain.states is None
    plain.reset_state()  # nothing to reset


def test_stateful_config_and_save_round_trip(tmp_path):
    ours, layer = _model(cornu, "SimpleRNN")
    assert layer.get_config()["stateful"] is True
    ours.predict_on_batch(X[0])
    ours.save(tmp_path / "m.cornu")
    again = cornu.saving.load_model(tmp_path / "m.cornu")
    np.testing.assert_allclose(again.predict_on_batch(X[1]), ours.predict_on_batch(X[1]),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("path", ["arrays", "stream"])
def test_evaluate_carries_states_from_batch_to_batch(path):
    """evaluate (and test_on_batch) carry the states as fit and predict do and leave the
    last ones in the layer: Keras 3's meaning, measured with its TensorFlow backend (its
    JAX backend's compiled fit, evaluate and predict start every batch from zeros; its
    layer calls carry, which is the reference here). Models on Keras' step protocol (their
    own test_step, stateful metrics, batch callbacks) start every batch from the layer's
    states, as Keras' JAX backend."""
    ours, layer = _model(cornu, "LSTM")
    ours.compile(optimizer="sgd", loss="mse")
    theirs, k_layer = _keras(lambda: _model(keras, "LSTM"))
    _keras(lambda: theirs.set_weights(ours.get_weights()))
    y = np.random.default_rng(1).normal(size=(3, 2, 4)).astype(np.float32)

    def keras_losses():
        def mse(x, t):
            return float(np.mean((np.asarray(k_layer(x)) - t) ** 2))

        losses = [mse(x, t) for x, t in zip(X, y, strict=True)]
        first = [np.asarray(v.value) for v in k_layer.states]
        losses += [mse(x, t) for x, t in zip(X, y, strict=True)]
        return losses, first

    expected, states = _keras(keras_losses)
    xs, ys = X.reshape(6, 5, 3), y.reshape(6, 4)
    if path == "stream":
        def evaluate():
            return ours.evaluate(((X[i], y[i]) for i in range(3)), verbose=0)
    else:
        def evaluate():
            return ours.evaluate(xs, ys, batch_size=2, verbose=0)
    np.testing.assert_allclose(evaluate(), np.mean(expected[:3]), rtol=1e-5)
    for a, b in zip(layer.states, states, strict=True):
        np.testing.assert_allclose(np.asarray(a.value), b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(evaluate(), np.mean(expected[3:]), rtol=1e-5)  # goes on
    layer.reset_state()
    got = [ours.test_on_batch(x, t) for x, t in zip(X, y, strict=True)]
    np.testing.assert_allclose(got, expected[:3], rtol=1e-5)


def test_stream_predict_states_skip_the_filler_steps():
    """A stream's last chunk is filled with empty steps: they leave the states."""
    ours, layer = _model(cornu, "LSTM")
    ours.predict((X[i] for i in range(3)), verbose=0)
    streamed = [np.asarray(v.value) for v in layer.states]
    layer.reset_state()
    for x in X:
        layer(x)
    for a, b in zip(streamed, layer.states, strict=True):
        np.testing.assert_allclose(a, np.asarray(b.value), rtol=1e-5, atol=1e-6)
