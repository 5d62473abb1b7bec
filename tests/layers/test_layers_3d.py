"""The 3-D vision layers (Conv3D, Conv3DTranspose, Max/AveragePooling3D, the global 3-D
poolings, UpSampling3D, ZeroPadding3D, Cropping3D): against Keras 3 from the same weights,
the layer helper's checks, shapes and the errors that name the layer."""

import jax
import numpy as np
import pytest
from jax import lax
from keras_compare import keras, same_as_keras
from layer_checks import check_layer, sample

import cornu
from cornu import layers
from cornu.layers import _conv_ops

SHAPE = (None, 5, 6, 4, 3)  # (batch, depth, height, width, channels)
VOLUMES = sample(SHAPE, batch=2)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=(2, 3, 1), strides=(1, 2, 2), padding="same"),
    dict(kernel_size=2, dilation_rate=(2, 1, 1), activation="relu"),
    dict(kernel_size=1, groups=3, use_bias=False),
])
def test_conv3d_matches_keras(kwargs):
    make = dict(filters=6, bias_initializer="random_normal", **kwargs)
    if not kwargs.get("use_bias", True):
        make.pop("bias_initializer")
    layer = layers.Conv3D(**make)
    k = np.prod(np.broadcast_to(kwargs["kernel_size"], 3))
    params = k * 3 // kwargs.get("groups", 1) * 6 + (6 if kwargs.get("use_bias", True) else 0)
    check_layer(layer, SHAPE, x=VOLUMES, params=int(params),
                output_shape=layer.compute_output_shape(SHAPE))
    same_as_keras(layers.Conv3D(**make), keras.layers.Conv3D(**make), VOLUMES,
                  rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=(2, 3, 3), strides=2, padding="same"),
    dict(kernel_size=3, strides=(2, 1, 2), output_padding=(1, 0, 0)),
])
def test_conv3d_transpose_matches_keras(kwargs):
    make = dict(filters=2, bias_initializer="random_normal", **kwargs)
    layer = layers.Conv3DTranspose(**make)
    k = np.prod(np.broadcast_to(kwargs["kernel_size"], 3))
    check_layer(layer, SHAPE, x=VOLUMES, params=int(k * 3 * 2 + 2),
                output_shape=layer.compute_output_shape(SHAPE))
    same_as_keras(layers.Conv3DTranspose(**make), keras.layers.Conv3DTranspose(**make),
                  VOLUMES, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["MaxPooling3D", "AveragePooling3D"])
@pytest.mark.parametrize("kwargs", [
    dict(pool_size=2), dict(pool_size=(2, 3, 1), strides=1),
    dict(pool_size=(3, 2, 1), strides=2, padding="same"),
])
def test_pooling3d_matches_keras(name, kwargs):
    layer = getattr(layers, name)(**kwargs)
    check_layer(layer, SHAPE, x=VOLUMES, params=0,
                output_shape=layer.compute_output_shape(SHAPE))
    same_as_keras(getattr(layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs),
                  VOLUMES)


@pytest.mark.parametrize("name", ["GlobalAveragePooling3D", "GlobalMaxPooling3D"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling3d_matches_keras(name, keepdims):
    layer = getattr(layers, name)(keepdims=keepdims)
    check_layer(layer, SHAPE, x=VOLUMES, params=0,
                output_shape=(None, 1, 1, 1, 3) if keepdims else (None, 3))
    same_as_keras(getattr(layers, name)(keepdims=keepdims),
                  getattr(keras.layers, name)(keepdims=keepdims), VOLUMES)


@pytest.mark.parametrize(("name", "argument", "expected"), [
    ("UpSampling3D", (2, 1, 3), (None, 10, 6, 12, 3)),
    ("UpSampling3D", 2, (None, 10, 12, 8, 3)),
    ("ZeroPadding3D", 1, (None, 7, 8, 6, 3)),
    ("ZeroPadding3D", (2, 0, 1), (None, 9, 6, 6, 3)),
    ("ZeroPadding3D", ((1, 0), (0, 2), (3, 1)), (None, 6, 8, 8, 3)),
    ("Cropping3D", 1, (None, 3, 4, 2, 3)),
    ("Cropping3D", (2, 0, 1), (None, 1, 6, 2, 3)),
    ("Cropping3D", ((1, 0), (0, 2), (1, 2)), (None, 4, 4, 1, 3)),
])
def test_reshaping3d_matches_keras(name, argument, expected):
    check_layer(getattr(layers, name)(argument), SHAPE, x=VOLUMES, params=0,
                output_shape=expected)
    same_as_keras(getattr(layers, name)(argument), getattr(keras.layers, name)(argument),
                  VOLUMES)


def test_defaults_and_unknown_sizes_as_keras():
    for name in ("UpSampling3D", "ZeroPadding3D", "Cropping3D", "MaxPooling3D"):
        ours, theirs = getattr(layers, name)(), getattr(keras.layers, name)()
        assert ours.compute_output_shape(SHAPE) == theirs.compute_output_shape(SHAPE), name
    assert layers.Conv3D(4, 3).compute_output_shape((None, None, 6, None, 2)) == \
        (None, None, 4, None, 4)
    assert layers.UpSampling3D().compute_output_shape((None, None, 2, 3, 1)) == \
        (None, None, 4, 6, 1)
    assert layers.Cropping3D().compute_output_shape((None, None, 3, 3, 1)) == \
        (None, None, 1, 1, 1)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.Conv3D(4, 3)(cornu.Input((5, 5, 3))),
     r"'conv3d' \(Conv3D\) expects inputs of rank 5, \(batch, depth, height, width, "
     r"channels\)"),
    (lambda: layers.MaxPooling3D(pool_size=(2, 2))(cornu.Input((5, 5, 5, 1))),
     r"pool_size must be a positive integer or a tuple of 3.*Received: pool_size=\(2, 2\)"),
    (lambda: layers.Cropping3D(3)(cornu.Input((5, 8, 8, 1))),
     r"'cropping3d' \(Cropping3D\): cropping=.*leaves nothing"),
    (lambda: layers.ZeroPadding3D((1, 2)), r"Received: padding=\(1, 2\)"),
    (lambda: layers.UpSampling3D(0), r"Received: size=0"),
    (lambda: layers.GlobalMaxPooling3D()(cornu.Input((5, 5, 1))), r"expects inputs of rank 5"),
    (lambda: layers.Conv3DTranspose(2, 3, groups=2), r"no groups argument"),
])
def test_errors_name_the_layer_and_the_value(make, message):
    with pytest.raises(ValueError if "groups" not in message else TypeError, match=message):
        make()


def test_volume_model_trains_without_recompiling_and_summarises(tmp_path, capsys):
    cornu.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4, 4, 4, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype(np.float32)
    model = cornu.Sequential([
        cornu.Input((4, 4, 4, 1)), layers.ZeroPadding3D(1), layers.Conv3D(2, 3),
        layers.MaxPooling3D(2), layers.UpSampling3D(2), layers.Cropping3D(1),
        layers.Conv3DTranspose(2, 2, strides=2), layers.AveragePooling3D(2),
        layers.GlobalMaxPooling3D(keepdims=True), layers.GlobalAveragePooling3D(),
        layers.Dense(1, activation="sigmoid")])
    assert model.output_shape == (None, 1)
    model.summary()
    printed = capsys.readouterr().out
    assert "zero_padding3d (ZeroPadding3D)  (None, 6, 6, 6, 1)" in printed
    assert "(Conv3DTransp… (None, 4, 4, 4, 2)" in printed and "Total params: 93" in printed
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)  # a partial last batch
    assert np.isfinite(history.history["loss"]).all()
    assert model._engine.traces["train"] == 1
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_cpu_path_equals_the_accelerator_path_in_3d():
    """Conv3D's CPU path (im2col) and its accelerator path (lax.conv, NDHWC) agree."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 4, 6, 4)).astype(np.float32)
    k = rng.normal(size=(2, 3, 2, 2, 6)).astype(np.float32)
    strides, dilation, groups = (1, 2, 1), (2, 1, 1), 2
    eff = [(w - 1) * d + 1 for w, d in zip(k.shape[:3], dilation, strict=True)]
    pads = lax.padtype_to_pads(x.shape[1:4], eff, strides, "SAME")

    def ours(x, k):
        return _conv_ops.im2col_conv(x, k, strides, pads, dilation, groups)

    def reference(x, k):
        return lax.conv_general_dilated(x, k, strides, pads, rhs_dilation=dilation,
                                        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
                                        feature_group_count=groups)

    np.testing.assert_allclose(ours(x, k), reference(x, k), rtol=1e-4, atol=1e-4)
    for a, b in zip(jax.grad(lambda x, k: (ours(x, k) ** 2).sum(), (0, 1))(x, k),
                    jax.grad(lambda x, k: (reference(x, k) ** 2).sum(), (0, 1))(x, k),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
