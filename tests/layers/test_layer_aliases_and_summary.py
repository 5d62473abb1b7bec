"""Keras' other names for the vision layers are the same classes in cornu, as in Keras,
and saved files record the main name; the summary of a functional model of the layers
of issue 21 shows Keras' shapes and parameter counts."""

import numpy as np
from keras_compare import keras

import cornu
from cornu import layers

ALIASES = ["AvgPool1D", "AvgPool2D", "AvgPool3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D",
           "GlobalMaxPool2D", "GlobalMaxPool3D", "Convolution1D", "Convolution2D",
           "Convolution3D", "Convolution1DTranspose", "Convolution2DTranspose",
           "Convolution3DTranspose", "SeparableConvolution1D", "SeparableConvolution2D"]


def test_aliases_are_keras_aliases_and_save_under_the_main_name(tmp_path):
    for alias in ALIASES:
        ours, theirs = getattr(layers, alias), getattr(keras.layers, alias)
        assert ours.__name__ == theirs.__name__, alias
        assert alias in layers.__all__
    model = cornu.Sequential([cornu.Input((6, 6, 2)), layers.Convolution2D(3, 3),
                              layers.MaxPool2D(), layers.GlobalAvgPool2D()])
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Conv2D", "MaxPooling2D", "GlobalAveragePooling2D"]


def test_functional_summary_and_shapes_match_keras(capsys):
    def build(lib):
        a = lib.Input((4, 3))
        b = lib.Input((5, 3))
        s = lib.layers.Dot(axes=2, normalize=True)([lib.layers.GroupNormalization(groups=3)(a),
                                                    b])
        s = lib.layers.ActivityRegularization(l2=0.1)(lib.layers.AlphaDropout(0.1)(s))
        v = lib.layers.Reshape((4, 5, 1, 1))(lib.layers.UnitNormalization()(s))
        v = lib.layers.Conv3D(2, (2, 2, 1))(lib.layers.ZeroPadding3D((1, 0, 0))(v))
        v = lib.layers.GlobalMaxPooling3D()(lib.layers.SpatialDropout3D(0.1)(v))
        return lib.Model([a, b], v)

    ours = build(cornu)
    theirs = build(keras)
    assert ours.output_shape == theirs.output_shape == (None, 2)
    assert ours.count_params() == theirs.count_params() == 6 + 2 * 2 * 2 + 2
    assert [layer.output.shape for layer in ours.layers] == \
        [tuple(layer.output.shape) for layer in theirs.layers]
    ours.summary()
    printed = capsys.readouterr().out
    assert "dot (Dot)                       (None, 4, 5)" in printed
    assert "Total params: 16" in printed
    x = [np.ones((2, 4, 3), np.float32), np.ones((2, 5, 3), np.float32)]
    assert ours.predict(x, verbose=0).shape == (2, 2)
