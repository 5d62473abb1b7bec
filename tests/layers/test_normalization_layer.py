"""Normalization (adapt, given statistics, invert) against Keras 3."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

import cornu

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
DATA = (RNG.normal(size=(50, 4, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -2.0]).astype(np.float32)


@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
@pytest.mark.parametrize("invert", [False, True])
def test_adapt_matches_keras(axis, invert):
    ours = cornu.layers.Normalization(axis=axis, invert=invert)
    theirs = keras.layers.Normalization(axis=axis, invert=invert)
    ours.adapt(DATA)
    with jax.numpy_rank_promotion("allow"):
        theirs.adapt(DATA)
        want = np.asarray(theirs(DATA[:7]))
    np.testing.assert_allclose(np.asarray(ours(DATA[:7])), want, rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_adapt_reads_sources_batch_by_batch_with_the_same_statistics():
    whole = cornu.layers.Normalization()
    whole.adapt(DATA)
    batched = cornu.layers.Normalization()
    batched.adapt(DATA[i:i + 7] for i in range(0, 50, 7))
    for a, b in zip(whole.get_weights(), batched.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_given_statistics_and_a_model_that_trains_saves_and_loads(tmp_path):
    layer = cornu.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25])
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(np.asarray(layer(x)), [[0.0, -1.0, -4.0]] * 2)
    norm = cornu.layers.Normalization()
    norm.adapt(DATA[:, 0, :])
    model = cornu.Sequential([cornu.Input((3,)), norm, cornu.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(DATA[:, 0, :], DATA[:, 1, :1], epochs=1, verbose=0)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    np.testing.assert_allclose(loaded.predict(DATA[:5, 0, :], verbose=0),
                               model.predict(DATA[:5, 0, :], verbose=0), rtol=1e-6)


def test_refusals_name_the_argument():
    with pytest.raises(ValueError, match="both mean and variance"):
        cornu.layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="received no data"):
        cornu.layers.Normalization().adapt(iter([]))
    layer = cornu.layers.Normalization()
    layer.adapt(DATA)
    with pytest.raises(ValueError, match="was built for inputs of shape"):
        layer.adapt(np.ones((3, 4, 5), np.float32))
