"""DepthwiseConv1D, SeparableConv1D (the 1-D forms of the depthwise and separable bases)
and SpatialDropout3D: against Keras 3 from the same weights, the layer helper's checks,
and a model that trains without recompiling and round-trips."""

import jax
import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers
from cornu.variables import StatelessScope

STEPS = sample((None, 9, 3), batch=2)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3), dict(kernel_size=2, strides=2, padding="same", depth_multiplier=2),
    dict(kernel_size=3, dilation_rate=2, activation="relu", depth_multiplier=3),
])
def test_depthwise_conv1d_matches_keras(kwargs):
    make = dict(bias_initializer="random_normal", **kwargs)
    m = kwargs.get("depth_multiplier", 1)
    layer = layers.DepthwiseConv1D(**make)
    want = tuple(keras.layers.DepthwiseConv1D(**make).compute_output_shape((None, 9, 3)))
    check_layer(layer, (None, 9, 3), x=STEPS, params=kwargs["kernel_size"] * 3 * m + 3 * m,
                output_shape=want)
    same_as_keras(layers.DepthwiseConv1D(**make), keras.layers.DepthwiseConv1D(**make), STEPS)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3), dict(kernel_size=2, strides=2, padding="same", depth_multiplier=2),
    dict(kernel_size=3, dilation_rate=2, activation="tanh", use_bias=False),
])
def test_separable_conv1d_matches_keras(kwargs):
    make = dict(filters=4, **kwargs)
    m, bias = kwargs.get("depth_multiplier", 1), kwargs.get("use_bias", True)
    layer = layers.SeparableConv1D(**make)
    want = tuple(keras.layers.SeparableConv1D(**make).compute_output_shape((None, 9, 3)))
    p, _, _ = check_layer(layer, (None, 9, 3), x=STEPS, output_shape=want,
                          params=kwargs["kernel_size"] * 3 * m + 3 * m * 4 + 4 * bias)
    assert p["pointwise_kernel"].shape == (1, 3 * m, 4)
    same_as_keras(layers.SeparableConv1D(**make), keras.layers.SeparableConv1D(**make), STEPS)


def test_spatial_dropout3d_drops_whole_channels():
    x = np.ones((4, 3, 4, 5, 50), np.float32)
    _, _, y = check_layer(layers.SpatialDropout3D(0.4), (None, 3, 4, 5, 50), x=x, params=0,
                          output_shape=(None, 3, 4, 5, 50))
    np.testing.assert_array_equal(np.asarray(y), x)
    same_as_keras(layers.SpatialDropout3D(0.4), keras.layers.SpatialDropout3D(0.4), x)
    with StatelessScope([], rng=jax.random.PRNGKey(0)):
        y = np.asarray(layers.SpatialDropout3D(0.4, seed=1)(x, training=True))
    assert (y == y[:, :1, :1, :1, :]).all()  # one decision per sample and channel
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.6)}
    assert 0.25 < (y[:, 0, 0, 0] == 0).mean() < 0.55
    with pytest.raises(ValueError, match=r"\(SpatialDropout3D\) expects inputs of rank 5"):
        layers.SpatialDropout3D(0.1)(cornu.Input((4, 4, 2)))


def test_in_a_model_fit_compiles_once_and_round_trips(tmp_path):
    cornu.utils.set_random_seed(0)
    x = sample((None, 8, 3), batch=12)
    y = x.sum(axis=(1, 2))[:, None]
    model = cornu.Sequential([
        cornu.Input((8, 3)), layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same"),
        layers.SeparableConv1D(4, 3, strides=2), layers.Reshape((3, 1, 1, 4)),
        layers.SpatialDropout3D(0.2), layers.Flatten(), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    assert model._engine.traces["train"] == 1
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
