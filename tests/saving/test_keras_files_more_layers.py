"""The layers of the rest of the catalogue (3-D vision layers, 1-D depthwise and separable
convolutions, adaptive pooling, group/unit/RMS normalization, Dot, AlphaDropout,
ActivityRegularization, SpatialDropout3D) in Keras' .keras files, both ways: a cornu file
loads in Keras 3 and a Keras file in cornu, with the same predictions."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402

import cornu  # noqa: E402
from cornu.saving import load_model  # noqa: E402


def build(lib):
    L = lib.layers
    a, b = lib.Input((4, 4, 4, 2)), lib.Input((3, 6))
    v = L.Conv3D(3, 3, activation="relu")(L.ZeroPadding3D(1)(a))
    v = L.Cropping3D(1)(L.UpSampling3D(2)(L.MaxPooling3D(2)(v)))
    v = L.AveragePooling3D(2)(L.Conv3DTranspose(2, 2, strides=2)(v))
    v = L.AdaptiveMaxPooling3D(1)(L.SpatialDropout3D(0.1)(v))
    v = L.GlobalAveragePooling3D()(L.GlobalMaxPooling3D(keepdims=True)(v))
    s = L.SeparableConv1D(6, 1)(L.DepthwiseConv1D(2, depth_multiplier=2)(b))
    s = L.RMSNormalization()(L.UnitNormalization()(L.GroupNormalization(groups=3)(s)))
    s = L.ActivityRegularization(l1=0.01)(L.AlphaDropout(0.1)(s))
    s = L.GlobalMaxPooling1D()(L.AdaptiveAveragePooling1D(2)(s))
    s = L.AdaptiveAveragePooling2D(1)(L.Reshape((2, 3, 1))(s))
    d = L.Dot(axes=1, normalize=True)([L.Dense(2)(L.Flatten()(s)), v])
    return lib.Model([a, b], [d, v])


@pytest.mark.slow  # 5-15 s: Keras compiles the 3-D layers' predict
@pytest.mark.parametrize("source", ["cornu", "keras"])
def test_new_layers_load_across_formats(source, tmp_path):
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(3, 4, 4, 4, 2)).astype(np.float32),
         rng.normal(size=(3, 3, 6)).astype(np.float32)]
    path = tmp_path / "m.keras"
    with jax.numpy_rank_promotion("allow"):  # Keras' own code broadcasts as NumPy
        model = build(cornu if source == "cornu" else keras)
        model.save(path)
        other = keras.models.load_model(path) if source == "cornu" else load_model(path)
        for ours, theirs in zip(model.predict(x, verbose=0), other.predict(x, verbose=0),
                                strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
