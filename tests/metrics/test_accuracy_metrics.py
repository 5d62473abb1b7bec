"""Accuracies against keras.metrics."""

import numpy as np
import pytest
from metric_checks import check_against_keras, check_config, check_per_sample, keras

from cornu import metrics

rng = np.random.default_rng(7)
B = 12


def weights():
    return rng.random(B).astype(np.float32)


def binary():
    return ((rng.random((B, 3)) > 0.5).astype(np.float32), rng.random((B, 3)).astype(np.float32))


def onehot(classes=5):
    labels = rng.integers(0, classes, B)
    return np.eye(classes, dtype=np.float32)[labels], rng.random((B, classes)).astype(np.float32)


def sparse(classes=5, trailing=False):
    labels = rng.integers(0, classes, (B, 1) if trailing else B)
    return labels, rng.random((B, classes)).astype(np.float32)


def exact():
    return (rng.integers(0, 3, (B, 1)).astype(np.float32),
            rng.integers(0, 3, (B, 1)).astype(np.float32))


def batches(make):
    (a, b), (c, d) = make(), make()
    return [(a, b, None), (c, d, weights())]


CASES = [
    ("Accuracy", {}, exact),
    ("BinaryAccuracy", {}, binary),
    ("BinaryAccuracy", {"threshold": 0.7}, binary),
    ("CategoricalAccuracy", {}, onehot),
    ("SparseCategoricalAccuracy", {}, sparse),
    ("SparseCategoricalAccuracy", {}, lambda: sparse(trailing=True)),
    ("TopKCategoricalAccuracy", {}, onehot),
    ("TopKCategoricalAccuracy", {"k": 2}, onehot),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, sparse),
    ("SparseTopKCategoricalAccuracy", {"k": 1}, lambda: sparse(trailing=True)),
]


@pytest.mark.parametrize(("cls", "kwargs", "make"), CASES)
def test_against_keras(cls, kwargs, make):
    data = batches(make)
    check_against_keras(getattr(metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs),
                        data)
    check_per_sample(getattr(metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs),
                     data)
    check_config(getattr(metrics, cls)(**kwargs))


def test_sorted_ids_and_jit():
    labels = rng.integers(0, 10, B)
    ids = np.argsort(-rng.random((B, 10)), axis=-1)[:, :4]
    data = [(labels, ids, None), (labels, ids, weights())]
    kwargs = {"k": 2, "from_sorted_ids": True}
    check_against_keras(metrics.SparseTopKCategoricalAccuracy(**kwargs),
                        keras.metrics.SparseTopKCategoricalAccuracy(**kwargs), data, jit=True)
    assert check_config(metrics.SparseTopKCategoricalAccuracy(**kwargs)).from_sorted_ids


def test_functions_give_keras_values():
    y, p = binary()
    for name in ("binary_accuracy",):
        np.testing.assert_array_equal(np.asarray(getattr(metrics, name)(y, p)),
                                      np.asarray(getattr(keras.metrics, name)(y, p)))
    y, p = onehot()
    for name in ("categorical_accuracy", "top_k_categorical_accuracy"):
        np.testing.assert_array_equal(np.asarray(getattr(metrics, name)(y, p)),
                                      np.asarray(getattr(keras.metrics, name)(y, p)))
    y, p = sparse(trailing=True)
    for name in ("sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        np.testing.assert_array_equal(np.asarray(getattr(metrics, name)(y, p)),
                                      np.asarray(getattr(keras.metrics, name)(y, p)))


def test_ties_and_nan_in_top_k():
    p = np.array([[0.5, 0.5, 0.1], [np.nan, 0.2, 0.3]], np.float32)
    y = np.array([1, 0])
    ours = np.asarray(metrics.sparse_top_k_categorical_accuracy(y, p, k=1))
    np.testing.assert_array_equal(ours, [1.0, 0.0])
    np.testing.assert_array_equal(
        ours, np.asarray(keras.metrics.sparse_top_k_categorical_accuracy(y, p, k=1)))


@pytest.mark.parametrize(("make", "argument", "value"), [
    (lambda: metrics.TopKCategoricalAccuracy(k=0), "k", "0"),
    (lambda: metrics.SparseTopKCategoricalAccuracy(k=2.5), "k", "2.5"),
    (lambda: metrics.BinaryAccuracy(threshold="high"), "threshold", "'high'"),
])
def test_bad_arguments(make, argument, value):
    with pytest.raises(ValueError, match=rf"{argument}=.*{value}"):
        make()
