"""UpSampling1D/2D, ZeroPadding1D/2D and Cropping1D/2D: against NumPy and Keras 3, the
argument forms Keras accepts, and the errors that name the layer."""

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers

IMAGES = sample((None, 5, 6, 3), batch=2)
STEPS = sample((None, 7, 3), batch=2)


@pytest.mark.parametrize(("size", "interpolation"), [
    ((2, 2), "nearest"), ((2, 3), "nearest"), (2, "bilinear"), ((3, 2), "bilinear"),
    ((2, 2), "bicubic"),
])
def test_up_sampling2d(size, interpolation):
    layer = layers.UpSampling2D(size, interpolation=interpolation)
    sh, sw = (size, size) if isinstance(size, int) else size
    _, _, y = check_layer(layer, (None, 5, 6, 3), x=IMAGES, params=0,
                          output_shape=(None, 5 * sh, 6 * sw, 3))
    if interpolation == "nearest":
        np.testing.assert_array_equal(np.asarray(y), IMAGES.repeat(sh, 1).repeat(sw, 2))
    same_as_keras(layers.UpSampling2D(size, interpolation=interpolation),
                  keras.layers.UpSampling2D(size, interpolation=interpolation), IMAGES)


def test_up_sampling1d():
    _, _, y = check_layer(layers.UpSampling1D(3), (None, 7, 3), x=STEPS, params=0,
                          output_shape=(None, 21, 3))
    np.testing.assert_array_equal(np.asarray(y), STEPS.repeat(3, axis=1))
    same_as_keras(layers.UpSampling1D(3), keras.layers.UpSampling1D(3), STEPS)


@pytest.mark.parametrize(("padding", "pads"), [
    (1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((1, 2), (0, 3)), ((1, 2), (0, 3))),
])
def test_zero_padding2d(padding, pads):
    (t, b), (left, r) = pads
    _, _, y = check_layer(layers.ZeroPadding2D(padding), (None, 5, 6, 3), x=IMAGES, params=0,
                          output_shape=(None, 5 + t + b, 6 + left + r, 3))
    np.testing.assert_array_equal(np.asarray(y), np.pad(IMAGES, ((0, 0), *pads, (0, 0))))
    same_as_keras(layers.ZeroPadding2D(padding), keras.layers.ZeroPadding2D(padding), IMAGES)


@pytest.mark.parametrize(("cropping", "crops"), [
    (1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))), (((1, 0), (0, 3)), ((1, 0), (0, 3))),
])
def test_cropping2d(cropping, crops):
    (t, b), (left, r) = crops
    _, _, y = check_layer(layers.Cropping2D(cropping), (None, 5, 6, 3), x=IMAGES, params=0,
                          output_shape=(None, 5 - t - b, 6 - left - r, 3))
    np.testing.assert_array_equal(np.asarray(y), IMAGES[:, t:5 - b, left:6 - r])
    same_as_keras(layers.Cropping2D(cropping), keras.layers.Cropping2D(cropping), IMAGES)


@pytest.mark.parametrize("amount", [1, (2, 0), (0, 3)])
def test_zero_padding1d_and_cropping1d(amount):
    a, b = (amount, amount) if isinstance(amount, int) else amount
    _, _, y = check_layer(layers.ZeroPadding1D(amount), (None, 7, 3), x=STEPS, params=0,
                          output_shape=(None, 7 + a + b, 3))
    np.testing.assert_array_equal(np.asarray(y), np.pad(STEPS, ((0, 0), (a, b), (0, 0))))
    same_as_keras(layers.ZeroPadding1D(amount), keras.layers.ZeroPadding1D(amount), STEPS)
    _, _, y = check_layer(layers.Cropping1D(amount), (None, 7, 3), x=STEPS, params=0,
                          output_shape=(None, 7 - a - b, 3))
    np.testing.assert_array_equal(np.asarray(y), STEPS[:, a:7 - b])
    same_as_keras(layers.Cropping1D(amount), keras.layers.Cropping1D(amount), STEPS)


def test_unknown_sizes_stay_unknown():
    assert layers.UpSampling2D().compute_output_shape((None, None, 4, 1)) == (None, None, 8, 1)
    assert layers.Cropping1D(1).compute_output_shape((None, None, 2)) == (None, None, 2)
    assert layers.ZeroPadding2D(1).compute_output_shape((None, None, None, 2)) == \
        (None, None, None, 2)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.ZeroPadding2D((1, 2, 3)), r"padding must be an int >= 0, a tuple of 2 "
                                              r"ints.*Received: padding=\(1, 2, 3\)"),
    (lambda: layers.Cropping2D(-1), "Received: cropping=-1"),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), "before, after"),
    (lambda: layers.UpSampling1D(0), "size must be a positive integer. Received: size=0"),
    (lambda: layers.UpSampling2D(interpolation="area"), "Received: interpolation='area'"),
    (lambda: layers.Cropping2D(3)(cornu.Input((5, 6, 3))),
     r"'cropping2d' \(Cropping2D\): cropping=\(\(3, 3\), \(3, 3\)\) leaves nothing"),
    (lambda: layers.Cropping1D(4)(cornu.Input((7, 3))), r"'cropping1d' \(Cropping1D\)"),
    (lambda: layers.UpSampling2D()(cornu.Input((5, 6))), r"\(UpSampling2D\) expects inputs of "
                                                         "rank 4"),
    (lambda: layers.ZeroPadding2D(data_format="channels_first"), "channels_last"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_1d_layers_take_no_data_format_as_keras():
    for cls in (layers.Cropping1D, layers.UpSampling1D):
        with pytest.raises(TypeError, match="unexpected keyword argument data_format"):
            cls(data_format="channels_last")


def test_save_and_load(tmp_path):
    model = cornu.Sequential([
        cornu.Input((5, 6, 3)), layers.ZeroPadding2D(((1, 0), (2, 1))),
        layers.UpSampling2D((2, 1), interpolation="bilinear"), layers.Cropping2D((1, 2)),
        layers.Conv2D(2, 3), layers.Reshape((-1, 2)), layers.ZeroPadding1D((0, 2)),
        layers.UpSampling1D(2), layers.Cropping1D((1, 3))])
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(IMAGES, verbose=0),
                                  model.predict(IMAGES, verbose=0))
