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


def test_eager_ops_are_untouched_and_saving_such_a_graph_says_what_to_do(tmp_path):
    assert float(cornu.ops.mean(np.arange(4.0))) == 1.5
    model = build(cornu)
    with pytest.raises(cornu.saving.CornuFileError, match="Wrap the computation in a Layer"):
        model.save(tmp_path / "m.cornu")
    model.save_weights(tmp_path / "m.weights.safetensors")
