"""Conv1DTranspose and Conv2DTranspose against Keras 3 from the same weights (strides,
padding, output_padding, dilation), against the gradient of a convolution, shapes and
argument errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers

CASES_2D = [  # kernel, strides, padding, output_padding, dilation, input (h, w, c)
    (3, 1, "valid", None, 1, (5, 6, 3)),
    (3, 2, "same", None, 1, (5, 6, 3)),
    ((3, 2), (2, 3), "valid", None, 1, (4, 5, 2)),
    (3, 2, "valid", 1, 1, (4, 4, 2)),
    (4, 2, "same", (1, 0), 1, (4, 5, 2)),
    (2, 3, "valid", None, 1, (3, 3, 2)),  # stride larger than the kernel
    (3, 1, "same", None, 2, (5, 6, 2)),
    ((2, 3), 1, "valid", None, (2, 1), (5, 4, 2)),
]


@pytest.mark.parametrize(("kernel", "strides", "padding", "output_padding", "dilation",
                          "size"), CASES_2D)
def test_conv2d_transpose_matches_keras(kernel, strides, padding, output_padding, dilation,
                                        size):
    kwargs = {"kernel_size": kernel, "strides": strides, "padding": padding,
              "output_padding": output_padding, "dilation_rate": dilation}
    layer = layers.Conv2DTranspose(4, bias_initializer="random_normal", **kwargs)
    x = sample((None, *size), batch=2)
    want = tuple(keras.layers.Conv2DTranspose(4, **kwargs).compute_output_shape((None, *size)))
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    p, _, y = check_layer(layer, (None, *size), x=x, params=kh * kw * size[2] * 4 + 4,
                          output_shape=want)
    assert p["kernel"].shape == (kh, kw, 4, size[2])
    same_as_keras(layers.Conv2DTranspose(4, bias_initializer="random_normal", **kwargs),
                  keras.layers.Conv2DTranspose(4, **kwargs), x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("kernel", "strides", "padding", "output_padding", "dilation"), [
    (3, 1, "valid", None, 1), (3, 2, "same", None, 1), (4, 3, "valid", 2, 1),
    (5, 2, "same", 1, 1), (3, 1, "same", None, 3),
])
def test_conv1d_transpose_matches_keras(kernel, strides, padding, output_padding, dilation):
    kwargs = {"kernel_size": kernel, "strides": strides, "padding": padding,
              "output_padding": output_padding, "dilation_rate": dilation, "activation": "tanh"}
    x = sample((None, 7, 3), batch=2)
    want = tuple(keras.layers.Conv1DTranspose(5, **kwargs).compute_output_shape((None, 7, 3)))
    check_layer(layers.Conv1DTranspose(5, **kwargs), (None, 7, 3), x=x,
                params=kernel * 3 * 5 + 5, output_shape=want)
    same_as_keras(layers.Conv1DTranspose(5, **kwargs), keras.layers.Conv1DTranspose(5, **kwargs),
                  x)


def test_is_the_gradient_of_a_convolution():
    """conv_transpose(y, k) is the vector-Jacobian product of conv(., k) at y."""
    layer = layers.Conv2DTranspose(3, 3, strides=2, use_bias=False)
    y = sample((None, 4, 4, 5))
    out = np.asarray(layer(y))
    kernel = layer.kernel.value  # (3, 3, filters=3, channels=5): conv from 3 to 5 channels
    x = jnp.zeros(out.shape)
    _, vjp = jax.vjp(lambda x: cornu.ops.conv(x, kernel, strides=2), x)
    np.testing.assert_allclose(out, np.asarray(vjp(y)[0]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"output_padding": 2, "strides": 2}, "output_padding must be smaller than strides"),
    ({"output_padding": (1, -1), "strides": 2}, r"Received: output_padding=\(1, -1\)"),
    ({"strides": 2, "dilation_rate": 2}, "strides > 1 together with dilation_rate > 1"),
    ({"padding": "causal"}, "Received: padding='causal'"),
    ({"filters": 0}, "filters must be a positive integer"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Conv2DTranspose(**{"filters": 2, "kernel_size": 3, **kwargs})
    with pytest.raises(TypeError, match="no groups argument"):
        layers.Conv1DTranspose(2, 3, groups=2)
    with pytest.raises(ValueError, match=r"'t' \(Conv2DTranspose\) expects inputs of rank 4"):
        layers.Conv2DTranspose(2, 3, name="t")(cornu.Input((5, 5)))


def test_save_and_load(tmp_path):
    model = cornu.Sequential([
        cornu.Input((4, 4, 2)), layers.Conv2DTranspose(3, 3, strides=2, padding="same",
                                                       output_padding=1, activation="relu"),
        layers.Reshape((-1, 3)), layers.Conv1DTranspose(2, 3, strides=2)])
    x = sample((None, 4, 4, 2), batch=3)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
