"""Losses against NumPy references, and the stable logits path."""

import numpy as np
import pytest

from cornu import losses

rng = np.random.default_rng(0)
LOGITS = rng.normal(size=(6, 4)).astype(np.float32) * 3
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
LABELS = rng.integers(0, 4, size=6)
ONEHOT = np.eye(4, dtype=np.float32)[LABELS]
EPS = 1e-7


def _log_softmax(z):
    z = z.astype(np.float64)
    return z - z.max(-1, keepdims=True) - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1,
                                                                                    keepdims=True))


def test_categorical_crossentropy_from_probs_and_logits():
    want = -(ONEHOT * np.log(np.clip(PROBS.astype(np.float64), EPS, 1 - EPS))).sum(-1)
    got = np.asarray(losses.categorical_crossentropy(ONEHOT, PROBS))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    want_logits = -(ONEHOT * _log_softmax(LOGITS)).sum(-1)
    got = np.asarray(losses.categorical_crossentropy(ONEHOT, LOGITS, from_logits=True))
    np.testing.assert_allclose(got, want_logits, rtol=1e-5)


def test_sparse_categorical_crossentropy_matches_categorical():
    want = -_log_softmax(LOGITS)[np.arange(6), LABELS]
    for labels in (LABELS, LABELS[:, None]):
        got = losses.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)
    got = losses.sparse_categorical_crossentropy(LABELS, PROBS)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4)


def test_binary_crossentropy_probs_logits_and_extremes():
    z = np.array([[-50.0, -2.0, 0.0], [1.5, 20.0, 80.0]], np.float32)
    y = np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]], np.float32)
    zd = z.astype(np.float64)
    p = 1 / (1 + np.exp(-zd))
    want_logits = (np.maximum(zd, 0) - zd * y + np.log1p(np.exp(-np.abs(zd)))).mean(-1)
    got = np.asarray(losses.binary_crossentropy(y, z, from_logits=True))
    np.testing.assert_allclose(got, want_logits, rtol=1e-5)
    assert np.isfinite(got).all() and got[1] > 20  # 80 logit with label 0: a large, finite loss
    p = p[:, :2]  # moderate probabilities: float32 clipping at 1 - 1e-7 is coarse
    y = y[:, :2]
    pc = np.clip(p, EPS, 1 - EPS)
    want = -(y * np.log(pc) + (1 - y) * np.log(1 - pc)).mean(-1)
    got = np.asarray(losses.binary_crossentropy(y, p.astype(np.float32)))
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_regression_losses():
    a = rng.normal(size=(5, 3)).astype(np.float32)
    b = rng.normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(losses.mean_squared_error(a, b)),
                               ((a - b) ** 2).mean(-1), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(losses.mean_absolute_error(a, b)),
                               np.abs(a - b).mean(-1), rtol=1e-6)


def test_names_and_objects():
    assert losses.get("categorical crossentropy").name == "categorical_crossentropy"
    assert losses.get("MSE").fn is losses.mean_squared_error
    assert losses.get("SparseCategoricalCrossentropy").label_kind == "sparse"
    assert losses.get(losses.CategoricalCrossentropy(from_logits=True)).from_logits
    with pytest.raises(ValueError, match=r"loss='categorical_crossentropie'.*"
                                         r"'categorical_crossentropy'"):
        losses.get("categorical_crossentropie")
