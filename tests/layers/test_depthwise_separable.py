"""DepthwiseConv2D and SeparableConv2D against Keras 3 from the same weights, against a
per-channel Conv2D, parameter counts and argument errors."""

import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers

CASES = [  # kernel, strides, padding, dilation, depth_multiplier
    (3, 1, "valid", 1, 1), (3, 2, "same", 1, 2), ((2, 3), (1, 2), "valid", 1, 1),
    (3, 1, "same", 2, 3),
]


@pytest.mark.parametrize(("kernel", "strides", "padding", "dilation", "multiplier"), CASES)
def test_depthwise_conv2d_matches_keras(kernel, strides, padding, dilation, multiplier):
    kwargs = {"kernel_size": kernel, "strides": strides, "padding": padding,
              "dilation_rate": dilation, "depth_multiplier": multiplier}
    x = sample((None, 7, 8, 3))
    want = tuple(keras.layers.DepthwiseConv2D(**kwargs).compute_output_shape((None, 7, 8, 3)))
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    layer = layers.DepthwiseConv2D(bias_initializer="random_normal", **kwargs)
    p, _, y = check_layer(layer, (None, 7, 8, 3), x=x,
                          params=kh * kw * 3 * multiplier + 3 * multiplier, output_shape=want)
    # channel c's m-th filter is output channel c * multiplier + m: a Conv2D on channel c
    kernel_value, bias = np.asarray(p["kernel"]), np.asarray(p["bias"])
    for c in range(3):
        conv = layers.Conv2D(multiplier, kernel, strides=strides, padding=padding,
                             dilation_rate=dilation)
        conv.build((None, 7, 8, 1))
        conv.set_weights([kernel_value[:, :, c:c + 1, :],
                          bias[c * multiplier:(c + 1) * multiplier]])
        np.testing.assert_allclose(np.asarray(y)[..., c * multiplier:(c + 1) * multiplier],
                                   np.asarray(conv(x[..., c:c + 1])), rtol=1e-5, atol=1e-5)
    same_as_keras(layers.DepthwiseConv2D(bias_initializer="random_normal", **kwargs),
                  keras.layers.DepthwiseConv2D(**kwargs), x)


@pytest.mark.parametrize(("kernel", "strides", "padding", "dilation", "multiplier"), CASES)
def test_separable_conv2d_matches_keras(kernel, strides, padding, dilation, multiplier):
    kwargs = {"kernel_size": kernel, "strides": strides, "padding": padding,
              "dilation_rate": dilation, "depth_multiplier": multiplier, "activation": "relu"}
    x = sample((None, 7, 8, 3))
    want = tuple(keras.layers.SeparableConv2D(5, **kwargs).compute_output_shape((None, 7, 8, 3)))
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    layer = layers.SeparableConv2D(5, bias_initializer="random_normal", **kwargs)
    p, _, _ = check_layer(layer, (None, 7, 8, 3), x=x, output_shape=want,
                          params=kh * kw * 3 * multiplier + 3 * multiplier * 5 + 5)
    assert [v.name for v in layer.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert p["pointwise_kernel"].shape == (1, 1, 3 * multiplier, 5)
    same_as_keras(layers.SeparableConv2D(5, bias_initializer="random_normal", **kwargs),
                  keras.layers.SeparableConv2D(5, **kwargs), x)


def test_keras_counts_and_no_bias():
    layer = layers.SeparableConv2D(64, 3, use_bias=False)
    layer.build((None, 32, 32, 32))
    assert layer.count_params() == 3 * 3 * 32 + 32 * 64
    layer = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False)
    layer.build((None, 8, 8, 4))
    assert layer.count_params() == 3 * 3 * 4 * 2


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0),
     "depth_multiplier must be a positive integer. Received: depth_multiplier=0"),
    (lambda: layers.SeparableConv2D(0, 3), "filters must be a positive integer"),
    (lambda: layers.SeparableConv2D(4, 3, padding="causal"), "Received: padding='causal'"),
    (lambda: layers.DepthwiseConv2D(5)(cornu.Input((3, 3, 2))),
     r"'depthwise_conv2d' \(DepthwiseConv2D\): kernel_size=\(5, 5\) is larger"),
    (lambda: layers.SeparableConv2D(4, 3)(cornu.Input((8, 8))),
     r"\(SeparableConv2D\) expects inputs of rank 4"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_save_and_load(tmp_path):
    model = cornu.Sequential([
        cornu.Input((8, 8, 3)), layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
        layers.SeparableConv2D(4, 3, strides=2, activation="relu"), layers.Flatten()])
    x = sample((None, 8, 8, 3), batch=3)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
