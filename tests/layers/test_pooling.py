"""Pooling layers against loops in NumPy; gradients against lax.reduce_window's."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from layer_checks import check_layer, sample

import cornu
from cornu.layers import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)


def pool2d_reference(x, pool, strides, padding, mode):
    n, h, w, c = x.shape
    (ph, pw), (sh, sw) = pool, strides
    if padding == "same":
        oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        th, tw = max((oh - 1) * sh + ph - h, 0), max((ow - 1) * sw + pw - w, 0)
        top, left = th // 2, tw // 2
    else:
        oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
        top = left = 0
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - top, j * sw - left
            window = x[:, max(r0, 0):r0 + ph, max(c0, 0):c0 + pw, :]  # real inputs only
            out[:, i, j] = window.max(axis=(1, 2)) if mode == "max" else window.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize(("pool", "strides", "padding", "size"), [
    ((2, 2), None, "valid", (6, 7)),
    ((3, 3), (2, 2), "valid", (7, 8)),
    ((2, 3), (1, 2), "same", (5, 6)),
    ((3, 3), None, "same", (7, 5)),
])
def test_pool2d_matches_loop(cls, pool, strides, padding, size):
    layer = cls(pool, strides=strides, padding=padding)
    x = sample((None, *size, 3), batch=2)
    _, _, y = check_layer(layer, (None, *size, 3), x=x, params=0,
                          output_shape=layer.compute_output_shape((None, *size, 3)))
    mode = "max" if cls is MaxPooling2D else "average"
    expected = pool2d_reference(x, pool, strides or pool, padding, mode)
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [MaxPooling1D, AveragePooling1D])
def test_pool1d_matches_loop(cls):
    layer = cls(3, strides=2, padding="same")
    x = sample((None, 9, 2))
    _, _, y = check_layer(layer, (None, 9, 2), x=x, params=0, output_shape=(None, 5, 2))
    mode = "max" if cls is MaxPooling1D else "average"
    expected = pool2d_reference(x[:, :, None], (3, 1), (2, 1), "same", mode)[:, :, 0]
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-6)


def test_max_pool_gradient_equals_reduce_window_gradient():
    x = jnp.asarray(np.random.default_rng(0).permutation(2 * 8 * 8 * 3).reshape(2, 8, 8, 3)
                    .astype(np.float32))  # distinct values: one maximum per window
    layer = MaxPooling2D((3, 3), strides=2, padding="same")
    layer.build((None, 8, 8, 3))

    def ours(x):
        return jnp.sum(layer(x, training=True) ** 2)

    def reference(x):
        pads = lax.padtype_to_pads(x.shape, (1, 3, 3, 1), (1, 2, 2, 1), "SAME")
        return jnp.sum(lax.reduce_window(x, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1),
                                         pads) ** 2)

    np.testing.assert_allclose(jax.grad(ours)(x), jax.grad(reference)(x), rtol=1e-6)


@pytest.mark.parametrize(("cls", "rank", "reduce"), [
    (GlobalAveragePooling2D, 2, np.mean), (GlobalMaxPooling2D, 2, np.max),
    (GlobalAveragePooling1D, 1, np.mean), (GlobalMaxPooling1D, 1, np.max),
])
def test_global_pooling(cls, rank, reduce):
    shape = (None, *(5,) * rank, 3)
    x = sample(shape)
    _, _, y = check_layer(cls(), shape, x=x, params=0, output_shape=(None, 3))
    axes = tuple(range(1, 1 + rank))
    np.testing.assert_allclose(np.asarray(y), reduce(x, axis=axes), rtol=1e-6)
    _, _, y = check_layer(cls(keepdims=True), shape, x=x, params=0,
                          output_shape=(None, *(1,) * rank, 3))
    np.testing.assert_allclose(np.asarray(y), reduce(x, axis=axes, keepdims=True), rtol=1e-6)


def test_keras_shapes_and_defaults():
    assert MaxPooling2D().compute_output_shape((None, 26, 26, 32)) == (None, 13, 13, 32)
    assert MaxPooling2D((2, 2)).compute_output_shape((None, 11, 11, 64)) == (None, 5, 5, 64)
    same = MaxPooling2D(3, strides=1, padding="same")
    assert same.compute_output_shape((None, 7, 7, 2)) == (None, 7, 7, 2)
    assert AveragePooling2D(2).strides == (2, 2)
    assert MaxPooling2D().compute_output_shape((None, None, 8, 1)) == (None, None, 4, 1)


def test_pooling_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Layer 'max_pooling2d' \(MaxPooling2D\): "
                                         r"pool_size=\(3, 3\) is larger than"):
        MaxPooling2D(3)(cornu.Input((2, 2, 1)))
    with pytest.raises(ValueError, match=r"Layer 'p' \(AveragePooling2D\) expects inputs of "
                                         "rank 4"):
        AveragePooling2D(2, name="p").compute_output_shape((None, 8, 8))
    with pytest.raises(ValueError, match=r"'gap' \(GlobalAveragePooling2D\) expects inputs of "
                                         "rank 4"):
        GlobalAveragePooling2D(name="gap").compute_output_shape((None, 8))
    # eager calls on arrays build the layer from the array's shape: the same errors
    with pytest.raises(ValueError, match=r"Layer 'mp' \(MaxPooling2D\): "
                                         r"pool_size=\(3, 3\) is larger than"):
        MaxPooling2D(3, name="mp")(np.ones((1, 2, 2, 1), np.float32))
    with pytest.raises(ValueError, match=r"'p2' \(AveragePooling2D\) expects inputs of rank 4"):
        AveragePooling2D(2, name="p2")(np.ones((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"'gap2' \(GlobalAveragePooling2D\) expects inputs "
                                         "of rank 4"):
        GlobalAveragePooling2D(name="gap2")(np.ones((2, 8), np.float32))
    with pytest.raises(ValueError, match=r"pool_size must be .* Received: pool_size=0"):
        MaxPooling2D(0)
    with pytest.raises(ValueError, match="Received: padding='full'"):
        MaxPooling2D(padding="full")
