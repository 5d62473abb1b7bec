"""Rescaling, Resizing, CenterCrop, SpatialDropout1D/2D, GaussianNoise and GaussianDropout:
against Keras 3 and NumPy, the noise layers' statistics and seeds in training, and
save/load."""

import jax
import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer

import cornu
from cornu import layers
from cornu.variables import StatelessScope

IMAGES = np.random.default_rng(0).uniform(0, 255, (2, 9, 12, 3)).astype(np.float32)


def in_training(layer, x, key=0):
    """The layer in training as a compiled step runs it: its draws from the step's key."""
    with StatelessScope([], rng=jax.random.PRNGKey(key)):
        return np.asarray(layer(x, training=True))


@pytest.mark.parametrize(("scale", "offset"), [(1 / 255, 0.0), (1 / 127.5, -1.0),
                                               ([0.5, 1.0, 2.0], [0.0, 1.0, -1.0])])
def test_rescaling(scale, offset):
    _, _, y = check_layer(layers.Rescaling(scale, offset), (None, 9, 12, 3), x=IMAGES,
                          params=0, output_shape=(None, 9, 12, 3))
    np.testing.assert_allclose(np.asarray(y), IMAGES * np.float32(scale) + np.float32(offset),
                               rtol=1e-6)
    keras_scale = np.asarray(scale) if isinstance(scale, list) else scale
    keras_offset = np.asarray(offset) if isinstance(offset, list) else offset
    same_as_keras(layers.Rescaling(scale, offset),
                  keras.layers.Rescaling(keras_scale, keras_offset), IMAGES)
    ints = IMAGES.astype(np.uint8)
    assert layers.Rescaling(scale, offset)(ints).dtype == np.float32


@pytest.mark.parametrize(("size", "kwargs"), [
    ((5, 6), {}), ((18, 7), {}), ((5, 6), {"interpolation": "nearest"}),
    ((4, 8), {"interpolation": "bicubic"}), ((6, 6), {"crop_to_aspect_ratio": True}),
    ((6, 6), {"pad_to_aspect_ratio": True, "fill_value": 0.5}),
    ((4, 5), {"antialias": True}),
])
def test_resizing(size, kwargs):
    _, _, y = check_layer(layers.Resizing(*size, **kwargs), (None, 9, 12, 3), x=IMAGES,
                          params=0, output_shape=(None, *size, 3))
    same_as_keras(layers.Resizing(*size, **kwargs), keras.layers.Resizing(*size, **kwargs),
                  IMAGES, rtol=1e-5, atol=1e-3)  # values up to 255: 1e-5 relative


@pytest.mark.parametrize("size", [(5, 6), (9, 12), (8, 3), (11, 10), (12, 14)])
def test_center_crop(size):
    _, _, y = check_layer(layers.CenterCrop(*size), (None, 9, 12, 3), x=IMAGES, params=0,
                          output_shape=(None, *size, 3))
    if size[0] <= 9 and size[1] <= 12:
        top, left = (9 - size[0]) // 2, (12 - size[1]) // 2
        np.testing.assert_array_equal(np.asarray(y),
                                      IMAGES[:, top:top + size[0], left:left + size[1]])
    same_as_keras(layers.CenterCrop(*size), keras.layers.CenterCrop(*size), IMAGES,
                  rtol=1e-5, atol=1e-3)


def test_one_image_without_batch_axis():
    assert layers.Resizing(4, 5)(IMAGES[0]).shape == (4, 5, 3)
    assert layers.CenterCrop(4, 5)(IMAGES[0]).shape == (4, 5, 3)


@pytest.mark.parametrize(("cls", "shape", "shared"), [
    (layers.SpatialDropout1D, (None, 40, 8), (1,)),
    (layers.SpatialDropout2D, (None, 6, 7, 8), (1, 2)),
])
def test_spatial_dropout_drops_whole_channels(cls, shape, shared):
    x = np.ones((64, *shape[1:]), np.float32)
    _, _, y = check_layer(cls(0.5), shape, x=x, params=0, output_shape=shape)
    np.testing.assert_array_equal(np.asarray(y), x)  # inference: the identity
    same_as_keras(cls(0.5), getattr(keras.layers, cls.__name__)(0.5), x)
    y = in_training(cls(0.5), x)
    first = y[(slice(None), *(slice(0, 1),) * len(shared))]
    assert (y == first).all()  # one decision per sample and channel
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs((first == 0).mean() - 0.5) < 0.1
    np.testing.assert_array_equal(in_training(cls(0.5, seed=3), x),
                                  in_training(cls(0.5, seed=3), x))


@pytest.mark.parametrize("stddev", [0.1, 0.5])
def test_gaussian_noise(stddev):
    x = np.full((100, 100), 3.0, np.float32)
    _, _, y = check_layer(layers.GaussianNoise(stddev), (None, 100), x=x, params=0,
                          output_shape=(None, 100))
    np.testing.assert_array_equal(np.asarray(y), x)
    same_as_keras(layers.GaussianNoise(stddev), keras.layers.GaussianNoise(stddev), x)
    noise = in_training(layers.GaussianNoise(stddev, seed=1), x) - x
    assert abs(noise.mean()) < 4 * stddev / 100 and abs(noise.std() - stddev) < 0.05 * stddev
    assert not np.array_equal(noise, in_training(layers.GaussianNoise(stddev, seed=2), x) - x)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_gaussian_dropout(rate):
    x = np.full((100, 100), 3.0, np.float32)
    _, _, y = check_layer(layers.GaussianDropout(rate), (None, 100), x=x, params=0,
                          output_shape=(None, 100))
    np.testing.assert_array_equal(np.asarray(y), x)
    same_as_keras(layers.GaussianDropout(rate), keras.layers.GaussianDropout(rate), x)
    factor = in_training(layers.GaussianDropout(rate, seed=1), x) / x
    stddev = np.sqrt(rate / (1 - rate))
    assert abs(factor.mean() - 1) < 4 * stddev / 100
    assert abs(factor.std() - stddev) < 0.05 * stddev


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.Rescaling("1/255"), "scale must be a finite number"),
    (lambda: layers.Rescaling(1.0, offset=float("nan")), "Received: offset=nan"),
    (lambda: layers.Resizing(0, 4), "height must be a positive integer. Received: height=0"),
    (lambda: layers.Resizing(4, 4, interpolation="area"), "Received: interpolation='area'"),
    (lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
     "not both"),
    (lambda: layers.CenterCrop(4, -1), "Received: width=-1"),
    (lambda: layers.CenterCrop(4, 4)(cornu.Input((8,))), r"'center_crop' \(CenterCrop\) takes "
                                                         "images of rank 4"),
    (lambda: layers.SpatialDropout1D(1.5), r"rate must be a number in \[0, 1\)"),
    (lambda: layers.SpatialDropout2D(0.5)(cornu.Input((8, 3))), r"\(SpatialDropout2D\) "
                                                                "expects inputs of rank 4"),
    (lambda: layers.GaussianNoise(-1), r"stddev of a GaussianNoise layer must be a number in "
                                       r"\[0, 1\]. Received: stddev=-1"),
    (lambda: layers.GaussianDropout(0.5, seed=-2), "Received: seed=-2"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_save_load_and_fit(tmp_path):
    cornu.utils.set_random_seed(0)
    model = cornu.Sequential([
        cornu.Input((9, 12, 3)), layers.Rescaling(1 / 255, offset=-0.5),
        layers.Resizing(8, 8), layers.CenterCrop(6, 6), layers.Conv2D(4, 3),
        layers.SpatialDropout2D(0.2), layers.GaussianNoise(0.1), layers.Reshape((-1, 4)),
        layers.SpatialDropout1D(0.2), layers.GaussianDropout(0.2), layers.Flatten(),
        layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(IMAGES, np.ones((2, 2), np.float32), epochs=2, verbose=0)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(IMAGES, verbose=0),
                                  model.predict(IMAGES, verbose=0))
