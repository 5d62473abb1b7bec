"""Conv1D and Conv2D against a direct loop in NumPy, the im2col path against lax.conv,
shapes, parameter counts and the errors that name the layer."""

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax
from layer_checks import check_layer, sample

import cornu
from cornu.layers import Conv1D, Conv2D, _conv_ops


def conv2d_reference(x, kernel, bias, strides, padding, dilation, groups):
    """The textbook sum, one output position and filter at a time."""
    n, h, w, c = x.shape
    kh, kw, per_group, filters = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        ph, pw = max((oh - 1) * sh + eh - h, 0), max((ow - 1) * sw + ew - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - eh) // sh + 1, (w - ew) // sw + 1
    out = np.zeros((n, oh, ow, filters), np.float64)
    per_out = filters // groups
    for i in range(oh):
        for j in range(ow):
            for o in range(filters):
                g = o // per_out
                patch = x[:, i * sh:i * sh + eh:dh, j * sw:j * sw + ew:dw,
                          g * per_group:(g + 1) * per_group]
                out[:, i, j, o] = np.sum(patch * kernel[..., o], axis=(1, 2, 3)) + bias[o]
    return out


def conv1d_reference(x, kernel, bias, stride, padding, dilation, groups):
    k = kernel.shape[0]
    if padding == "causal":
        x = np.pad(x, ((0, 0), ((k - 1) * dilation, 0), (0, 0)))
        padding = "valid"
    y = conv2d_reference(x[:, :, None, :], kernel[:, None], bias, (stride, 1), padding,
                         (dilation, 1), groups)
    return y[:, :, 0, :]


CASES_2D = [  # kernel, strides, padding, dilation, groups, input (h, w, c)
    ((3, 3), (1, 1), "valid", (1, 1), 1, (7, 6, 3)),
    ((3, 3), (1, 1), "same", (1, 1), 1, (7, 6, 3)),
    ((3, 2), (2, 3), "valid", (1, 1), 1, (8, 9, 2)),
    ((3, 3), (2, 2), "same", (1, 1), 1, (8, 7, 2)),
    ((2, 3), (1, 1), "valid", (2, 2), 1, (7, 8, 2)),
    ((3, 3), (1, 1), "same", (2, 1), 1, (6, 6, 2)),
    ((3, 3), (1, 1), "valid", (1, 1), 2, (6, 6, 4)),
    ((1, 1), (1, 1), "same", (1, 1), 3, (3, 3, 6)),
]


@pytest.mark.parametrize(("kernel", "strides", "padding", "dilation", "groups", "size"),
                         CASES_2D)
def test_conv2d_matches_direct_loop(kernel, strides, padding, dilation, groups, size):
    filters = 6
    layer = Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   groups=groups, bias_initializer="random_normal")
    x = sample((None, *size), batch=3)
    p, _, y = check_layer(layer, (None, *size), x=x, params=(
        kernel[0] * kernel[1] * size[2] // groups * filters + filters),
        output_shape=layer.compute_output_shape((None, *size)))
    expected = conv2d_reference(x, np.asarray(p["kernel"]), np.asarray(p["bias"]), strides,
                                padding, dilation, groups)
    assert y.shape == expected.shape
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-4, atol=1e-5)
    assert p["kernel"].shape == (*kernel, size[2] // groups, filters)


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "groups"), [
    (3, 1, "valid", 1, 1), (3, 2, "same", 1, 1), (2, 1, "causal", 2, 1), (3, 1, "same", 1, 2),
])
def test_conv1d_matches_direct_loop(kernel, stride, padding, dilation, groups):
    layer = Conv1D(4, kernel, strides=stride, padding=padding, dilation_rate=dilation,
                   groups=groups, activation="relu", bias_initializer="random_normal")
    x = sample((None, 9, 4), batch=2)
    p, _, y = check_layer(layer, (None, 9, 4), x=x, params=kernel * 4 // groups * 4 + 4,
                          output_shape=layer.compute_output_shape((None, 9, 4)))
    expected = np.maximum(conv1d_reference(x, np.asarray(p["kernel"]), np.asarray(p["bias"]),
                                           stride, padding, dilation, groups), 0)
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-4, atol=1e-5)
    if padding == "causal":  # output t sees inputs up to t only
        assert y.shape[1] == 9


@pytest.mark.parametrize(("strides", "padding", "dilation", "groups"), [
    ((1, 1), "VALID", (1, 1), 1), ((2, 1), "SAME", (1, 2), 1), ((1, 2), "SAME", (1, 1), 2),
])
def test_im2col_equals_lax_conv_with_gradients(strides, padding, dilation, groups):
    """The CPU path (im2col) and the accelerator path (lax.conv) agree, gradients too."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 6, 4)).astype(np.float32)
    k = rng.normal(size=(3, 2, 4 // groups, 6)).astype(np.float32)
    eff = [(w - 1) * d + 1 for w, d in zip(k.shape[:2], dilation, strict=True)]
    pads = lax.padtype_to_pads(x.shape[1:3], eff, strides, padding)

    def ours(x, k):
        return _conv_ops.im2col_conv(x, k, strides, pads, dilation, groups)

    def reference(x, k):
        return lax.conv_general_dilated(x, k, strides, pads, rhs_dilation=dilation,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                        feature_group_count=groups)

    np.testing.assert_allclose(ours(x, k), reference(x, k), rtol=1e-4, atol=1e-4)
    for a, b in zip(jax.grad(lambda x, k: (ours(x, k) ** 2).sum(), (0, 1))(x, k),
                    jax.grad(lambda x, k: (reference(x, k) ** 2).sum(), (0, 1))(x, k),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def _build(layer, shape):
    """The output shape of the layer built by a symbolic call on this input shape."""
    return tuple(layer(cornu.Input(shape=shape[1:])).shape)


def test_keras_output_shapes_and_counts():
    assert _build(Conv2D(32, (3, 3)), (None, 28, 28, 1)) == (None, 26, 26, 32)
    assert _build(Conv2D(8, 3, strides=2, padding="same"), (None, 28, 27, 3)) == (None, 14, 14, 8)
    assert _build(Conv2D(8, 5, dilation_rate=2), (None, 20, 20, 3)) == (None, 12, 12, 8)
    assert _build(Conv2D(8, 3), (None, None, None, 3)) == (None, None, None, 8)
    assert _build(Conv1D(16, 5, padding="causal"), (None, 30, 8)) == (None, 30, 16)
    layer = Conv2D(64, (3, 3))
    layer.build((None, 13, 13, 32))
    assert layer.count_params() == 3 * 3 * 32 * 64 + 64 == 18496
    no_bias = Conv2D(4, 3, use_bias=False, groups=2)
    no_bias.build((None, 5, 5, 6))
    assert no_bias.count_params() == 3 * 3 * 3 * 4


def test_conv_errors_name_the_layer_and_the_value():
    with pytest.raises(ValueError, match=r"Layer 'conv2d' \(Conv2D\): kernel_size=\(5, 5\) is "
                                         r"larger than the input's spatial size \(3, 3\)"):
        Conv2D(8, 5)(cornu.Input((3, 3, 1)))
    with pytest.raises(ValueError, match=r"Layer 'c' \(Conv2D\) expects inputs of rank 4.*"
                                         r"\(None, 28, 28\) of rank 3"):
        Conv2D(8, 3, name="c")(cornu.Input((28, 28)))
    with pytest.raises(ValueError, match=r"Layer 'c1' \(Conv1D\) expects inputs of rank 3"):
        cornu.Sequential([cornu.Input((28, 28, 1)), Conv1D(8, 3, name="c1")])
    with pytest.raises(ValueError, match=r"'g' \(Conv2D\): the input's 3 channels are not "
                                         r"divisible by groups=2"):
        Conv2D(4, 3, groups=2, name="g").build((None, 8, 8, 3))
    with pytest.raises(ValueError, match=r"dilation\) is larger"):
        Conv1D(2, 3, dilation_rate=4).build((None, 8, 2))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filters": 0, "kernel_size": 3}, "filters must be a positive integer. Received: filters=0"),
    ({"filters": 4, "kernel_size": (3, 0)}, r"kernel_size must be .* Received: kernel_size=\(3, 0"),
    ({"filters": 4, "kernel_size": 3, "strides": 0}, "Received: strides=0"),
    ({"filters": 4, "kernel_size": 3, "padding": "full"}, "Received: padding='full'"),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "Received: padding='causal'"),
    ({"filters": 6, "kernel_size": 3, "groups": 4}, "filters must be divisible by groups"),
    ({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, "channels_last. only"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(**kwargs)


def test_same_padding_is_keras_padding():
    """'same' with stride 2 on an even size pads more on the right, as TensorFlow/Keras."""
    layer = Conv2D(1, 2, strides=2, padding="same", use_bias=False, kernel_initializer="ones")
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    y = layer(x)
    # windows start at 0 and 2; the one at 2 has one real row/column (pad on the right)
    np.testing.assert_allclose(np.asarray(y)[0, :, :, 0], [[0 + 1 + 3 + 4, 2 + 5], [6 + 7, 8]])


@settings(max_examples=15, deadline=None)
@given(size=st.integers(1, 9), kernel=st.integers(1, 4), stride=st.integers(1, 3),
       dilation=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]))
def test_predicted_shape_is_the_computed_shape(size, kernel, stride, dilation, padding):
    layer = Conv2D(2, (kernel, 2), strides=(stride, 1), dilation_rate=(dilation, 1),
                   padding=padding)
    effective = (kernel - 1) * dilation + 1
    if padding == "valid" and size < effective:
        with pytest.raises(ValueError, match="larger than the input"):
            layer.build((None, size, 3, 1))
        return
    shape = _build(layer, (None, size, 3, 1))
    y = layer(np.ones((1, size, 3, 1), np.float32))
    assert y.shape == (1, *shape[1:])
    expected = math.ceil(size / stride) if padding == "same" else (size - effective) // stride + 1
    assert shape[1] == expected
