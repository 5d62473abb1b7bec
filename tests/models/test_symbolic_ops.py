"""cornu.ops and operators on symbolic tensors in functional code, as Keras records them:
the same graph in cornu and Keras predicts the same from the same weights."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

import cornu

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


def build(lib):
    inputs = lib.Input((12, 3))
    x = inputs[:, 2:10]
    x = lib.layers.Conv1D(4, 3, activation="relu")(x)
    pooled = lib.ops.mean(x, axis=1)
    scored = lib.layers.Dense(2)(pooled) * 2.0 + 1.0
    both = lib.ops.concatenate([scored, -pooled, abs(pooled) ** 2], axis=-1)
    return lib.Model(inputs, lib.ops.expand_dims(both, -1))


def test_ops_on_symbolic_tensors_predict_as_in_keras():
    ours, theirs = build(cornu), build(keras)
    theirs.set_weights(ours.get_weights())
    x = np.random.default_rng(0).normal(size=(5, 12, 3)).astype(np.float32)
    got = ours.predict(x, verbose=0)
    with jax.numpy_rank_promotion("allow"):
        want = theirs.predict(x, verbose=0)
    assert got.shape == want.shape == (5, 10, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    ours.compile(optimizer="adam", loss="mse")
    history = ours.fit(x, np.zeros((5, 10, 1), np.float32), epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()


def test_eager_ops_are_untouched_and_such_a_graph_saves_in_both_formats(tmp_path):
    assert float(cornu.ops.mean(np.arange(4.0))) == 1.5
    model = build(cornu)
    x = np.random.default_rng(0).normal(size=(5, 12, 3)).astype(np.float32)
    for name in ("m.cornu", "m.keras"):
        model.save(tmp_path / name)
        again = cornu.models.load_model(tmp_path / name)
        np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0),
                                   rtol=1e-6)
    with jax.numpy_rank_promotion("allow"):
        theirs = keras.models.load_model(tmp_path / "m.keras")
        np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)
