"""Dense and Activation against NumPy, configs, shapes, and the old spellings."""

import jax
import numpy as np
import pytest

import cornu
from cornu.layers import Activation, Dense


def _built(layer, shape):
    layer(cornu.Input(shape=shape[1:]))
    return layer, {v.name: v.value for v in layer.weights}


def test_dense_matches_numpy_and_counts_params():
    layer, params = _built(Dense(4, activation="relu"), (None, 3))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    want = np.maximum(x @ np.asarray(params["kernel"]) + np.asarray(params["bias"]), 0)
    got = layer(x)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda x: layer(x))(x)), want, rtol=1e-6)
    assert layer.output_shape == (None, 4)
    assert layer.count_params() == 3 * 4 + 4
    assert np.all(np.asarray(params["bias"]) == 0)


def test_dense_on_rank_3_input_and_without_bias():
    layer, params = _built(Dense(2, use_bias=False), (None, 5, 3))
    assert set(params) == {"kernel"} and layer.output_shape == (None, 5, 2)
    x = np.ones((2, 5, 3), np.float32)
    assert layer(x).shape == (2, 5, 2)


def test_glorot_uniform_limits():
    _, params = _built(Dense(300), (None, 200))
    limit = np.sqrt(6 / 500)
    k = np.asarray(params["kernel"])
    assert k.min() >= -limit and k.max() <= limit and k.std() > limit / 2


def test_config_round_trip():
    layer = Dense(7, activation="tanh", use_bias=False, kernel_initializer="he_normal",
                  name="d1")
    again = Dense.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    act = Activation("softmax", name="a")
    assert Activation.from_config(act.get_config()).get_config() == act.get_config()


@pytest.mark.parametrize("units", [0, -3, 2.5, None, True])
def test_dense_units_must_be_positive(units):
    with pytest.raises(ValueError, match=f"units must be a positive integer. Received: "
                                         f"units={units!r}"):
        Dense(units)


def test_unknown_activation_and_initializer_names():
    with pytest.raises(ValueError, match=r"activation='sigmoide'.*'sigmoid'"):
        Dense(3, activation="sigmoide")
    with pytest.raises(ValueError, match=r"kernel_initializer='glorot'"):
        Dense(3, kernel_initializer="glorot")
    with pytest.raises(TypeError, match="unexpected keyword arguments: unitz"):
        Dense(3, unitz=4)


def test_keras1_spellings_work_and_warn():
    with pytest.warns(DeprecationWarning, match="`output_dim`.*use `units`"):
        layer = Dense(output_dim=5)
    assert layer.units == 5
    with pytest.warns(DeprecationWarning, match="`init`.*use `kernel_initializer`"):
        layer = Dense(5, init="uniform")
    _, params = _built(layer, (None, 4))
    assert np.abs(np.asarray(params["kernel"])).max() <= 0.05
    with pytest.warns(DeprecationWarning, match="`input_dim`.*input_shape"):
        model = cornu.Sequential([Dense(5, input_dim=4)])
    assert model.input_shape == (None, 4)
    with pytest.raises(TypeError, match="both `units` and its old spelling `output_dim`"), \
            pytest.warns(DeprecationWarning):
        Dense(3, output_dim=5)
