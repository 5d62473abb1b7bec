"""Keras 3's optimizer variables in .keras files, both ways, for every optimizer cornu
has (keras_h5.OPTIMIZER_VARIABLES): training resumes after a round trip with Keras as
it would have gone on in the library that saved it (1e-5)."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.saving import load_model  # noqa: E402
from cornu.saving.keras_h5 import OPTIMIZER_VARIABLES  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)

OPTIMIZERS = [
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.5, "nesterov": True}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {}),
    ("Adadelta", {"learning_rate": 0.5}),
    ("Adam", {"amsgrad": True}),
    ("AdamW", {}),
    ("Adamax", {}),
    ("Nadam", {}),
    ("Adam", {"clipnorm": 0.5}),
]


@pytest.fixture(autouse=True)
def _user_broadcasting():
    with jax.numpy_rank_promotion("allow"):
        yield


def test_every_cornu_optimizer_is_described():
    from cornu.optimizers.catalog import SPECS

    assert set(SPECS) <= set(OPTIMIZER_VARIABLES)


def _data():
    rng = np.random.default_rng(1)
    return (rng.normal(size=(8, 6)).astype(np.float32),
            rng.normal(size=(8, 2)).astype(np.float32))


def _model(lib, name, kwargs):
    model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(4, activation="tanh"),
                            lib.layers.BatchNormalization(), lib.layers.Dense(2)])
    model.compile(optimizer=getattr(lib.optimizers, name)(**kwargs), loss="mse")
    return model


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(k) or 'default'}" for n, k in OPTIMIZERS])
def test_training_resumes_across_keras_files(name, kwargs, tmp_path):
    x, y = _data()
    theirs = _model(keras, name, kwargs)
    theirs.fit(x, y, epochs=3, batch_size=8, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = load_model(tmp_path / "k.keras")
    assert type(ours.optimizer).__name__ == name
    assert int(ours.optimizer.iterations.value) == 3
    for model in (theirs, ours):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), **TOL)

    ours.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    assert int(theirs.optimizer.iterations) == 4
    for model in (theirs, ours):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_allclose(predict(theirs, x), predict(ours, x), **TOL)


def test_untrained_model_writes_keras_initial_state(tmp_path):
    """Before any step, the variables are Keras' initial ones (Adagrad's accumulators
    start at initial_accumulator_value)."""
    model = _model(cornu, "Adagrad", {"initial_accumulator_value": 0.3})
    model.save(tmp_path / "c.keras")
    theirs = keras.models.load_model(tmp_path / "c.keras")
    for v in theirs.optimizer.variables[2:]:
        np.testing.assert_allclose(np.asarray(v), 0.3)


def test_schedule_optimizer_state_is_not_written(tmp_path):
    """A learning-rate schedule has no single rate to write: Keras starts afresh."""
    schedule = cornu.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    model = cornu.Sequential([cornu.Input((6,)), cornu.layers.Dense(2)])
    model.compile(optimizer=cornu.optimizers.Adam(schedule), loss="mse")
    model.save(tmp_path / "c.keras")
    with zipfile.ZipFile(tmp_path / "c.keras") as z:
        with h5py.File(io.BytesIO(z.read("model.weights.h5"))) as f:
            assert "optimizer" not in f
