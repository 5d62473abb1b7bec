"""Lambda layers run their function; a saved one loads only with its function passed or
registered (the file holds its name, never its code)."""

from __future__ import annotations

import numpy as np
import pytest

import cornu
from cornu import layers, ops

X = np.random.default_rng(0).random((6, 4)).astype(np.float32)


def halve_and_shift(x, shift=0.0):
    return x / 2.0 + shift


def model_with(function, **kwargs):
    return cornu.Sequential([cornu.Input((4,)), layers.Lambda(function, **kwargs),
                             layers.Dense(2)])


def test_lambda_runs_its_function_with_arguments_and_trains():
    model = model_with(halve_and_shift, arguments={"shift": 1.0})
    dense = model.layers[-1]
    want = (X / 2 + 1) @ np.asarray(dense.kernel.value) + np.asarray(dense.bias.value)
    np.testing.assert_allclose(model.predict(X, verbose=0), want, rtol=1e-5, atol=1e-6)
    scaled = cornu.Sequential([cornu.Input((4,)), layers.Lambda(lambda x: ops.square(x))])
    np.testing.assert_allclose(scaled.predict(X, verbose=0), X ** 2, rtol=1e-6)
    model.compile(optimizer="adam", loss="mse")
    assert np.isfinite(model.fit(X, X[:, :2], epochs=1, verbose=0).history["loss"]).all()


def test_saved_lambda_loads_only_with_its_function(tmp_path):
    model = model_with(halve_and_shift, arguments={"shift": 1.0})
    model.save(tmp_path / "m.cornu")
    with pytest.raises(cornu.saving.CornuFileError, match="halve_and_shift.*custom_objects"):
        cornu.models.load_model(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu",
                                     custom_objects={"halve_and_shift": halve_and_shift})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    anonymous = model_with(lambda x: x * 3.0)
    anonymous.save(tmp_path / "a.cornu")
    with pytest.raises(cornu.saving.CornuFileError, match="<lambda>"):
        cornu.models.load_model(tmp_path / "a.cornu")
