"""Regression and probabilistic metrics against keras.metrics."""

import warnings

import numpy as np
import pytest
from metric_checks import check_against_keras, check_config, check_per_sample, keras, lenient

from cornu import metrics

rng = np.random.default_rng(11)
B = 10


def weights():
    return rng.random(B).astype(np.float32)


def real(cols=3):
    return (rng.normal(size=(B, cols)).astype(np.float32),
            rng.normal(size=(B, cols)).astype(np.float32))


def positive(cols=3):
    return (rng.random((B, cols)).astype(np.float32) * 3,
            rng.random((B, cols)).astype(np.float32) * 3 + 0.01)


def probabilities(cols=4):
    y = rng.random((B, cols)).astype(np.float32)
    p = rng.random((B, cols)).astype(np.float32) + 0.01
    return y / y.sum(-1, keepdims=True), p / p.sum(-1, keepdims=True)


def binary(cols=3):
    return ((rng.random((B, cols)) > 0.5).astype(np.float32),
            rng.random((B, cols)).astype(np.float32))


def logits(cols=3):
    return ((rng.random((B, cols)) > 0.5).astype(np.float32),
            rng.normal(size=(B, cols)).astype(np.float32) * 3)


def onehot(classes=4, scores=False):
    labels = rng.integers(0, classes, B)
    p = rng.normal(size=(B, classes)) if scores else rng.random((B, classes)) + 0.01
    return np.eye(classes, dtype=np.float32)[labels], p.astype(np.float32)


def sparse(classes=4, scores=False, trailing=False):
    labels = rng.integers(0, classes, (B, 1) if trailing else B)
    p = rng.normal(size=(B, classes)) if scores else rng.random((B, classes)) + 0.01
    return labels, p.astype(np.float32)


def signs(cols=3):
    return (rng.choice([-1.0, 1.0], (B, cols)).astype(np.float32),
            rng.normal(size=(B, cols)).astype(np.float32))


def batches(make):
    (a, b), (c, d) = make(), make()
    return [(a, b, None), (c, d, weights())]


WRAPPED = [
    ("MeanSquaredError", {}, real),
    ("MeanAbsoluteError", {}, real),
    ("MeanAbsolutePercentageError", {}, real),
    ("MeanSquaredLogarithmicError", {}, positive),
    ("CosineSimilarity", {}, real),
    ("LogCoshError", {}, real),
    ("KLDivergence", {}, probabilities),
    ("Poisson", {}, positive),
    ("Hinge", {}, signs),
    ("Hinge", {}, binary),
    ("SquaredHinge", {}, signs),
    ("CategoricalHinge", {}, lambda: onehot(scores=True)),
    ("BinaryCrossentropy", {}, binary),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, logits),
    ("CategoricalCrossentropy", {}, onehot),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
     lambda: onehot(scores=True)),
    ("SparseCategoricalCrossentropy", {}, sparse),
    ("SparseCategoricalCrossentropy", {"from_logits": True},
     lambda: sparse(scores=True, trailing=True)),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, sparse),
]


@pytest.mark.parametrize(("cls", "kwargs", "make"), WRAPPED)
def test_wrapped_against_keras(cls, kwargs, make):
    data = batches(make)
    check_against_keras(getattr(metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs),
                        data)
    check_per_sample(getattr(metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs),
                     data)
    check_config(getattr(metrics, cls)(**kwargs))


def test_root_mean_squared_error():
    data = batches(real)
    check_against_keras(metrics.RootMeanSquaredError(), keras.metrics.RootMeanSquaredError(),
                        data, jit=True)
    assert metrics.RootMeanSquaredError().per_sample is None  # a sqrt of the mean
    check_config(metrics.RootMeanSquaredError())


@pytest.mark.parametrize("kwargs", [
    {},
    {"class_aggregation": "variance_weighted_average"},
    {"class_aggregation": None},
    {"num_regressors": 2},
])
def test_r2_score(kwargs):
    data = batches(real)
    ours, theirs = metrics.R2Score(**kwargs), lenient(keras.metrics.R2Score(**kwargs))
    for y, p, w in data:
        ours.update_state(y, p, sample_weight=w)
        theirs.update_state(y, p, sample_weight=w)
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                               rtol=1e-5, atol=1e-6)
    # once built (it sizes its variables at the first update), the stateless API works
    values = ours.stateless_reset_state()
    for y, p, w in data:
        values = ours.stateless_update_state(values, y, p, sample_weight=w)
    np.testing.assert_allclose(np.asarray(ours.stateless_result(values)),
                               np.asarray(theirs.result()), rtol=1e-5, atol=1e-6)
    assert check_config(ours).get_config() == ours.get_config()


def test_r2_adjusted_falls_back_with_a_warning():
    y, p = real()
    ours = metrics.R2Score(num_regressors=50)
    ours.update_state(y[:3], p[:3])
    with pytest.warns(UserWarning, match="Falling back"):
        value = ours.result()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lenient(keras.metrics.R2Score(num_regressors=50))
        theirs.update_state(y[:3], p[:3])
        np.testing.assert_allclose(np.asarray(value), np.asarray(theirs.result()), rtol=1e-5)


def test_functions_give_keras_values():
    y, p = real()
    for name in ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                 "log_cosh"):
        np.testing.assert_allclose(np.asarray(getattr(metrics, name)(y, p)),
                                   np.asarray(getattr(keras.metrics, name)(y, p)), rtol=1e-5)


@pytest.mark.parametrize(("make", "argument"), [
    (lambda: metrics.R2Score(class_aggregation="median"), "class_aggregation"),
    (lambda: metrics.R2Score(num_regressors=-1), "num_regressors"),
    (lambda: metrics.BinaryCrossentropy(label_smoothing=2), "label_smoothing"),
    (lambda: metrics.SparseCategoricalCrossentropy(ignore_class="x"), "ignore_class"),
])
def test_bad_arguments(make, argument):
    with pytest.raises(ValueError, match=rf"Received: {argument}="):
        make()


def test_r2_needs_2d_inputs():
    with pytest.raises(ValueError, match="R2Score expects 2D inputs"):
        metrics.R2Score().update_state(np.zeros(4), np.zeros(4))


def test_r2_score_runs_inside_fit():
    import cornu

    rng = np.random.default_rng(0)
    x = rng.random((40, 3)).astype(np.float32)
    y = x @ np.ones((3, 2), np.float32)
    model = cornu.Sequential([cornu.Input((3,)), cornu.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", metrics=[cornu.metrics.R2Score()])
    history = model.fit(x, y, epochs=2, verbose=0).history
    assert len(history["r2_score"]) == 2 and np.isfinite(history["r2_score"]).all()
