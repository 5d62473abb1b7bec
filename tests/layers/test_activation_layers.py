"""ReLU, LeakyReLU, ELU, Softmax and PReLU: against NumPy formulas and Keras 3, configs,
and the argument errors."""

import warnings

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers

X = np.linspace(-4, 4, 2 * 3 * 11, dtype=np.float32).reshape(2, 3, 11)


@pytest.mark.parametrize("kwargs", [
    {}, {"max_value": 6}, {"negative_slope": 0.1}, {"threshold": 1.5},
    {"max_value": 2.5, "negative_slope": 0.2, "threshold": 0.5},
])
def test_relu(kwargs):
    _, _, y = check_layer(layers.ReLU(**kwargs), (None, 3, 11), x=X, params=0,
                          output_shape=(None, 3, 11))
    t, slope, top = kwargs.get("threshold", 0.0), kwargs.get("negative_slope", 0.0), \
        kwargs.get("max_value", np.inf)
    expected = np.where(X > t, np.minimum(X, top), slope * (X - t))
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-6, atol=1e-6)
    same_as_keras(layers.ReLU(**kwargs), keras.layers.ReLU(**kwargs), X)


@pytest.mark.parametrize("slope", [0.3, 0.01])
def test_leaky_relu(slope):
    layer = layers.LeakyReLU() if slope == 0.3 else layers.LeakyReLU(negative_slope=slope)
    _, _, y = check_layer(layer, (None, 3, 11), x=X, params=0, output_shape=(None, 3, 11))
    np.testing.assert_allclose(np.asarray(y), np.where(X >= 0, X, slope * X), rtol=1e-6)
    same_as_keras(layers.LeakyReLU(negative_slope=slope),
                  keras.layers.LeakyReLU(negative_slope=slope), X)
    with pytest.warns(DeprecationWarning, match="use `negative_slope`"):
        assert layers.LeakyReLU(alpha=0.2).negative_slope == 0.2


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu(alpha):
    _, _, y = check_layer(layers.ELU(alpha), (None, 3, 11), x=X, params=0,
                          output_shape=(None, 3, 11))
    np.testing.assert_allclose(np.asarray(y), np.where(X > 0, X, alpha * np.expm1(X)),
                               rtol=1e-5, atol=1e-6)
    same_as_keras(layers.ELU(alpha=alpha), keras.layers.ELU(alpha=alpha), X)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_softmax(axis):
    _, _, y = check_layer(layers.Softmax(axis=axis), (None, 3, 11), x=X, params=0,
                          output_shape=(None, 3, 11))
    e = np.exp(X - X.max(axis=axis, keepdims=True))
    np.testing.assert_allclose(np.asarray(y), e / e.sum(axis=axis, keepdims=True), rtol=1e-5)
    same_as_keras(layers.Softmax(axis=axis), keras.layers.Softmax(axis=axis), X)


def test_softmax_mask_as_keras():
    mask = np.random.default_rng(0).random((2, 3, 11)) > 0.3
    y = np.asarray(layers.Softmax()(X, mask=mask))
    np.testing.assert_allclose(y, np.asarray(keras.layers.Softmax()(X, mask=mask)), atol=1e-6)
    assert (y[~mask] == 0).all()


@pytest.mark.parametrize("shared_axes", [None, [1], [1, 2]])
def test_prelu(shared_axes):
    shape = (None, 4, 5, 3)
    x = sample(shape)
    layer = layers.PReLU(alpha_initializer="random_uniform", shared_axes=shared_axes)
    alpha_shape = [1 if i + 1 in (shared_axes or []) else d for i, d in enumerate(shape[1:])]
    p, _, y = check_layer(layer, shape, x=x, params=int(np.prod(alpha_shape)),
                          output_shape=shape)
    alpha = np.asarray(p["alpha"])
    assert alpha.shape == tuple(alpha_shape)
    np.testing.assert_allclose(np.asarray(y), np.where(x >= 0, x, alpha * x), rtol=1e-6)
    ours = layers.PReLU(alpha_initializer="random_uniform", shared_axes=shared_axes)
    same_as_keras(ours, keras.layers.PReLU(shared_axes=shared_axes), x)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.ReLU(max_value=-1), "max_value of a ReLU layer must be a number >= 0 or "
                                        "None. Received: max_value=-1"),
    (lambda: layers.ReLU(negative_slope=None), "Received: negative_slope=None"),
    (lambda: layers.ReLU(threshold=-0.5), "Received: threshold=-0.5"),
    (lambda: layers.LeakyReLU(-0.1), "Received: negative_slope=-0.1"),
    (lambda: layers.Softmax(axis="last"), "Received: axis='last'"),
    (lambda: layers.PReLU(shared_axes=[0]), r"axis 0 is the batch.*shared_axes=\[0\]"),
    (lambda: layers.PReLU()(cornu.Input((None, 3))), r"'p_re_lu' \(PReLU\) needs known sizes"),
])
def test_bad_arguments(make, message):
    with warnings.catch_warnings(), pytest.raises(ValueError, match=message):
        make()


def test_activation_layers_save_and_load(tmp_path):
    model = cornu.Sequential([
        cornu.Input((4, 3)), layers.Dense(6), layers.ReLU(max_value=1.0, threshold=0.1),
        layers.Dense(6), layers.LeakyReLU(0.1), layers.ELU(0.5),
        layers.PReLU(alpha_initializer="ones", shared_axes=[1]), layers.Softmax(axis=1)])
    x = sample((None, 4, 3), batch=5)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert [type(a) for a in loaded.layers] == [type(a) for a in model.layers]
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
