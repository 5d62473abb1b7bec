"""Every activation against a NumPy formula (float64 reference)."""

import math

import numpy as np
import pytest

from cornu import activations

X = np.array([[-30.0, -3.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 3.0, 30.0]], np.float32)
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
REFERENCES = {
    "linear": lambda x: x,
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "softmax": _softmax,
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "exponential": np.exp,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_matches_numpy(name):
    got = np.asarray(activations.get(name)(X))
    want = REFERENCES[name](X.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_names_are_forgiving_and_unknown_names_list_close_matches():
    assert activations.get("Soft Max") is activations.softmax
    assert activations.get("leaky-relu") is activations.leaky_relu
    with pytest.raises(ValueError, match=r"activation='sigmod'.*'sigmoid'"):
        activations.get("sigmod")
    with pytest.raises(TypeError, match="activation=3"):
        activations.get(3)


def test_softmax_is_stable_for_large_inputs():
    out = np.asarray(activations.softmax(np.array([[1000.0, 0.0, -1000.0]], np.float32)))
    assert np.isfinite(out).all() and abs(out.sum() - 1.0) < 1e-6
