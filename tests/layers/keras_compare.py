"""The same layer in cornu and in Keras 3 (JAX backend): Keras' layer gets cornu's weights,
and both give the same outputs on the same inputs; the settings both configs hold agree."""

from __future__ import annotations

import json
import os

import jax
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


def _plain(value):
    return json.loads(json.dumps(value, default=list))


def same_as_keras(layer, keras_layer, x, *, training=False, rtol=1e-5, atol=1e-5):
    """Builds both layers on `x` (an array or a list), copies cornu's weights into Keras',
    and compares outputs and the config entries both hold; returns cornu's output."""
    y = np.asarray(layer(x, training=training))
    with jax.numpy_rank_promotion("allow"):  # Keras' code is not written for the strict mode
        keras_layer(x)
        assert len(keras_layer.weights) == len(layer.weights)
        keras_layer.set_weights([np.asarray(v.value) for v in layer.weights])
        expected = np.asarray(keras_layer(x, training=training))
    assert y.shape == expected.shape, (y.shape, expected.shape)
    np.testing.assert_allclose(y, expected, rtol=rtol, atol=atol)
    ours, theirs = layer.get_config(), keras_layer.get_config()
    for key, value in ours.items():
        if key in ("name", "dtype", "trainable") or key not in theirs:
            continue
        if isinstance(value, dict) or isinstance(theirs[key], dict):
            continue  # initializers etc.: cornu writes their names
        assert _plain(value) == _plain(theirs[key]), (key, value, theirs[key])
    return y
