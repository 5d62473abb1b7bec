"""The check every metric class goes through: cornu against keras.metrics on the same
random batches (an update without sample weights, one with), then reset_state, then the
stateless API from fresh values."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


class lenient:  # noqa: N801 - used like a function
    """A Keras metric whose methods run with NumPy rank promotion allowed: Keras itself
    broadcasts implicitly (e.g. multi-label AUC), which the suite's 'raise' setting
    refuses; cornu's code is still checked under 'raise'."""

    def __init__(self, metric):
        self._metric = metric

    def __getattr__(self, name):
        attr = getattr(self._metric, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            with jax.numpy_rank_promotion("allow"):
                return attr(*args, **kwargs)

        return call

    def __call__(self, *args, **kwargs):
        with jax.numpy_rank_promotion("allow"):
            return self._metric(*args, **kwargs)


def as_numpy(value):
    return np.asarray(jax.device_get(value), dtype=np.float64)


def check_against_keras(ours, theirs, batches, *, rtol=1e-5, atol=1e-6, jit=False):
    """`batches`: a list of (y_true, y_pred, sample_weight or None)."""
    theirs = lenient(theirs)
    before = [np.asarray(v.numpy()) for v in ours.variables]

    for y_true, y_pred, weight in batches:
        kwargs = {} if weight is None else {"sample_weight": weight}
        ours.update_state(y_true, y_pred, **kwargs)
        theirs.update_state(y_true, y_pred, **kwargs)
    want = as_numpy(theirs.result())
    np.testing.assert_allclose(as_numpy(ours.result()), want, rtol=rtol, atol=atol)

    # reset: back to the initial state, and the same numbers once more
    ours.reset_state()
    theirs.reset_state()
    for v, start in zip(ours.variables, before, strict=True):
        np.testing.assert_array_equal(v.numpy(), start)
    y_true, y_pred, weight = batches[-1]
    kwargs = {} if weight is None else {"sample_weight": weight}
    ours.update_state(y_true, y_pred, **kwargs)
    theirs.update_state(y_true, y_pred, **kwargs)
    np.testing.assert_allclose(as_numpy(ours.result()), as_numpy(theirs.result()),
                               rtol=rtol, atol=atol)

    # stateless: the same result from values, and the variables untouched
    held = [np.asarray(v.numpy()) for v in ours.variables]
    values = ours.stateless_reset_state()
    assert len(values) == len(ours.variables)
    for value, start in zip(values, before, strict=True):
        np.testing.assert_array_equal(np.asarray(value), start)
    update = ours.stateless_update_state
    result = ours.stateless_result
    if jit:
        update = jax.jit(update)
        result = jax.jit(result)
    for y_true, y_pred, weight in batches:
        if weight is None:
            values = update(values, y_true, y_pred)
        else:
            values = update(values, y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(as_numpy(result(values)), want, rtol=rtol, atol=atol)
    for v, start in zip(ours.variables, held, strict=True):
        np.testing.assert_array_equal(v.numpy(), start)


def check_per_sample(ours, theirs, batches, *, rtol=1e-5, atol=1e-6):
    """The engine's fast path: the mean of per_sample over every sample equals Keras'
    unweighted result."""
    assert ours.per_sample is not None
    theirs = lenient(theirs)
    values = []
    for y_true, y_pred, _ in batches:
        theirs.update_state(y_true, y_pred)
        per = as_numpy(ours.per_sample(y_true, y_pred))
        assert per.shape == (np.shape(y_pred)[0],)
        values.append(per)
    np.testing.assert_allclose(np.concatenate(values).mean(), as_numpy(theirs.result()),
                               rtol=rtol, atol=atol)


def check_config(metric):
    """get_config -> from_config gives an equal config."""
    config = metric.get_config()
    copy = type(metric).from_config(config)
    assert copy.get_config() == config
    assert copy.name == metric.name
    return copy
