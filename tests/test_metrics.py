"""Metrics against NumPy references, and how 'accuracy' is resolved."""

import numpy as np
import pytest

from cornu import losses, metrics

rng = np.random.default_rng(1)
PRED = rng.random((8, 5)).astype(np.float32)
LABELS = rng.integers(0, 5, size=8)
ONEHOT = np.eye(5, dtype=np.float32)[LABELS]


def test_accuracies():
    want = (PRED.argmax(-1) == LABELS).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(metrics.categorical_accuracy(ONEHOT, PRED)), want)
    np.testing.assert_array_equal(
        np.asarray(metrics.sparse_categorical_accuracy(LABELS, PRED)), want)
    y = (rng.random((8, 3)) > 0.5).astype(np.float32)
    p = rng.random((8, 3)).astype(np.float32)
    # as Keras: the function gives one value per element, the metric one per sample
    np.testing.assert_array_equal(np.asarray(metrics.binary_accuracy(y, p)), y == (p > 0.5))
    np.testing.assert_allclose(np.asarray(metrics.BinaryAccuracy().per_sample(y, p)),
                               (y == (p > 0.5)).mean(-1), rtol=1e-6)


@pytest.mark.parametrize(
    ("loss", "dim", "cls"),
    [
        ("categorical_crossentropy", 10, metrics.CategoricalAccuracy),
        ("sparse_categorical_crossentropy", 10, metrics.SparseCategoricalAccuracy),
        ("binary_crossentropy", 1, metrics.BinaryAccuracy),
        ("mse", 1, metrics.BinaryAccuracy),
        ("mse", 4, metrics.CategoricalAccuracy),
    ],
)
def test_accuracy_is_chosen_from_the_loss(loss, dim, cls):
    metric = metrics.get("accuracy", losses.get(loss), dim)
    assert type(metric) is cls and metric.name == "accuracy"


def test_regression_metrics_and_names():
    a = rng.normal(size=(4, 2)).astype(np.float32)
    b = rng.normal(size=(4, 2)).astype(np.float32)
    mse = metrics.get("mse", None, 2)
    assert mse.name == "mse"
    np.testing.assert_allclose(np.asarray(mse.per_sample(a, b)), ((a - b) ** 2).mean(-1),
                               rtol=1e-6)
    mae = metrics.get("mean absolute error", None, 2)
    assert mae.name == "mean_absolute_error"
    np.testing.assert_allclose(np.asarray(mae.per_sample(a, b)), np.abs(a - b).mean(-1),
                               rtol=1e-6)
    np.testing.assert_allclose(float(mae(a, b)), np.abs(a - b).mean(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"metrics='acuracy'.*Did you mean"):
        metrics.get("acuracy", None, 2)
