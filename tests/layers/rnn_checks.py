"""Recurrent layers against Keras 3 (JAX backend): Keras' weights copied into cornu's layer
give the same outputs, every output of a layer that returns several (sequences, states)."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports keras
keras = pytest.importorskip("keras")


def sequences(batch: int = 3, steps: int = 5, features: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype(np.float32)


def _listed(y):
    return list(y) if isinstance(y, list | tuple) else [y]


def assert_same_as_keras(keras_layer, cornu_layer, x, atol: float = 1e-5, **call_kwargs):
    """Build both on x, copy Keras' weights into cornu's, compare every output."""
    with jax.numpy_rank_promotion("allow"):  # Keras' own code relies on it
        want = _listed(keras_layer(x, **call_kwargs))
    cornu_layer(x, **call_kwargs)
    with jax.numpy_rank_promotion("allow"):
        keras_weights = keras_layer.get_weights()
    assert [w.shape for w in cornu_layer.get_weights()] == [w.shape for w in keras_weights]
    assert [v.name for v in cornu_layer.weights] == [v.name for v in keras_layer.weights]
    cornu_layer.set_weights(keras_weights)
    got = _listed(cornu_layer(x, **call_kwargs))
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=atol)
    return got
