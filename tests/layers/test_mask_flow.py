"""Masks through user layers and merge layers, as Keras 3 (JAX backend), from the same
weights and data: a user layer whose compute_mask makes a mask (no mask coming in) hands it
to the next LSTM in functional, Sequential and subclassed models and in eager calls; a mask
that reaches a layer without masking support gives Keras' warning; and every exported
layer's `supports_masking` is Keras'. The merge layers: test_merge_masks.py."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


import cornu  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


pytestmark = pytest.mark.usefixtures("user_broadcasting")


def _steps():
    """(2, 5, 3) features whose zero rows are padding: sample 0 has 3 real steps, 1 has 1."""
    x = np.linspace(0.1, 1.5, 30, dtype="float32").reshape(2, 5, 3)
    x[0, 3:] = 0
    x[1, 1:] = 0
    return x


def _ids():
    rng = np.random.default_rng(0)
    a = rng.integers(1, 10, size=(6, 5))
    b = rng.integers(1, 10, size=(6, 5))
    for i, n in enumerate([5, 3, 1, 4, 2, 5]):
        a[i, n:] = 0
    for i, n in enumerate([2, 5, 3, 1, 4, 5]):
        b[i, n:] = 0
    return a, b


def _marker(lib):
    class Marker(lib.layers.Layer):
        """Makes a mask from its input (no mask comes in): a step is real where its first
        feature is not 0. It does not set supports_masking: writing compute_mask does."""

        def call(self, x):
            return x * 2.0

        def compute_mask(self, x, mask=None):
            return lib.ops.not_equal(x[..., 0], 0.0)

    return Marker


def _check(ours, theirs, x):
    """Same weights, then the same outputs and output masks (model(x), and predict)."""
    theirs.set_weights(ours.get_weights())
    got, want = ours(x), theirs(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), **TOL)
    np.testing.assert_array_equal(np.asarray(got._keras_mask), np.asarray(want._keras_mask))
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), **TOL)


def test_writing_compute_mask_means_supports_masking_as_keras():
    for lib in (cornu, keras):
        assert _marker(lib)().supports_masking
        assert not lib.layers.Layer().supports_masking


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_a_user_layer_makes_the_mask_an_lstm_uses_as_keras(kind):
    models = []
    for lib in (cornu, keras):
        lib.utils.set_random_seed(0)
        layers = [_marker(lib)(), lib.layers.LSTM(4, return_sequences=True)]
        if kind == "sequential":
            models.append(lib.Sequential([lib.Input((5, 3)), *layers]))
        else:
            inputs = lib.Input((5, 3))
            models.append(lib.Model(inputs, layers[1](layers[0](inputs))))
    assert models[0].outputs[0]._keras_mask is not None
    x = _steps()
    _check(*models, x)
    out = np.asarray(models[0].predict(x, verbose=0))
    np.testing.assert_allclose(out[1, 1:], np.repeat(out[1, :1], 4, axis=0))  # steps kept


def test_a_user_layer_makes_the_mask_in_subclassed_and_eager_calls_as_keras():
    outs = []
    for lib in (cornu, keras):
        lib.utils.set_random_seed(0)

        class Tagger(lib.Model):
            def __init__(self, marker, lstm, **kwargs):
                super().__init__(**kwargs)
                self.marker = marker()
                self.lstm = lstm

            def call(self, x):
                return self.lstm(self.marker(x))

        model = Tagger(_marker(lib), lib.layers.LSTM(4))
        model(_steps())
        outs.append(model)
    outs[1].set_weights(outs[0].get_weights())
    x = _steps()
    np.testing.assert_allclose(outs[0].predict(x, verbose=0), outs[1].predict(x, verbose=0),
                               **TOL)
    # eager layer calls: the made mask rides on the output to the LSTM
    marked = [m.marker(x) for m in outs]
    np.testing.assert_array_equal(np.asarray(marked[0]._keras_mask),
                                  np.asarray(marked[1]._keras_mask))
    np.testing.assert_allclose(np.asarray(outs[0].lstm(marked[0])),
                               np.asarray(outs[1].lstm(marked[1])), **TOL)


def _no_mask(lib):
    class NoMask(lib.layers.Layer):
        def call(self, x):
            return x + 1.0

    return NoMask


def _warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message)) for w in caught if "mask" in str(w.message)]


def test_a_mask_dropped_by_a_layer_without_masking_support_warns_as_keras():
    ids = _ids()[0]
    found = {}
    for lib in (cornu, keras):
        def build(lib=lib):
            inputs = lib.Input((5,), dtype="int32")
            h = lib.layers.Embedding(10, 3, mask_zero=True)(inputs)
            h = _no_mask(lib)(name="drops")(h)
            assert getattr(h, "_keras_mask", None) is None
            found[lib.__name__, "model"] = lib.Model(inputs, lib.layers.LSTM(2)(h))

        def eager(lib=lib):
            h = lib.layers.Embedding(10, 3, mask_zero=True)(ids)
            assert getattr(_no_mask(lib)(name="drops")(h), "_keras_mask", None) is None

        found[lib.__name__] = (_warnings(build), _warnings(eager))
    text = ("Layer 'drops' (of type NoMask) was passed an input with a mask attached to it. "
            "However, this layer does not support masking and will therefore destroy the "
            "mask information. Downstream layers will not see the mask.")
    assert found["cornu"] == found["keras"] == ([(UserWarning, text)], [(UserWarning, text)])
    # the model runs without the mask: all steps count
    ours, theirs = found["cornu", "model"], found["keras", "model"]
    theirs.set_weights(ours.get_weights())
    with pytest.warns(UserWarning, match="'drops' .* destroy the mask"):
        got = ours.predict(ids, verbose=0)
    with pytest.warns(UserWarning, match="'drops' .* destroy the mask"):
        want = theirs.predict(ids, verbose=0)
    np.testing.assert_allclose(got, want, **TOL)


def test_no_warning_without_masks_for_supporting_layers_or_for_ops():
    ids = _ids()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inputs = cornu.Input((5,), dtype="int32")
        plain = _no_mask(cornu)()(cornu.layers.Embedding(10, 3)(inputs))  # no mask
        masked = cornu.layers.Dense(3)(cornu.layers.Embedding(10, 3, mask_zero=True)(inputs))
        doubled = masked * 2.0  # an op drops the mask silently, as Keras' operations
        assert doubled._keras_mask is None
        model = cornu.Model(inputs, cornu.layers.Add()([plain, doubled]))
        model.predict(ids, verbose=0)


def _cell(lib):
    return lib.layers.LSTMCell(2)


# constructor arguments of the layers that need some (the others take none)
ARGUMENTS = {
    "Activation": lambda lib: lib.layers.Activation("relu"),
    "AlphaDropout": lambda lib: lib.layers.AlphaDropout(0.1),
    "Bidirectional": lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(2)),
    "Dropout": lambda lib: lib.layers.Dropout(0.1),
    "GaussianDropout": lambda lib: lib.layers.GaussianDropout(0.1),
    "GaussianNoise": lambda lib: lib.layers.GaussianNoise(0.1),
    "RandomBrightness": lambda lib: lib.layers.RandomBrightness(0.1),
    "RandomContrast": lambda lib: lib.layers.RandomContrast(0.1),
    "RandomRotation": lambda lib: lib.layers.RandomRotation(0.1),
    "RandomZoom": lambda lib: lib.layers.RandomZoom(0.1),
    "EinsumDense": lambda lib: lib.layers.EinsumDense("ab,bc->ac", 2),
    "Discretization": lambda lib: lib.layers.Discretization(bin_boundaries=[0.0]),
    "InputLayer": lambda lib: lib.layers.InputLayer(shape=(2,)),
    "Lambda": lambda lib: lib.layers.Lambda(lambda x: x),
    "Permute": lambda lib: lib.layers.Permute((2, 1)),
    "RandomTranslation": lambda lib: lib.layers.RandomTranslation(0.1, 0.1),
    "Reshape": lambda lib: lib.layers.Reshape((2,)),
    "SpatialDropout1D": lambda lib: lib.layers.SpatialDropout1D(0.1),
    "SpatialDropout2D": lambda lib: lib.layers.SpatialDropout2D(0.1),
    "SpatialDropout3D": lambda lib: lib.layers.SpatialDropout3D(0.1),
    "RNN": lambda lib: lib.layers.RNN(_cell(lib)),
    "StackedRNNCells": lambda lib: lib.layers.StackedRNNCells([_cell(lib)]),
    "TimeDistributed": lambda lib: lib.layers.TimeDistributed(lib.layers.Dense(2)),
}
# more than one setting to compare
VARIANTS = {
    "Embedding": [lambda lib: lib.layers.Embedding(3, 2),
                  lambda lib: lib.layers.Embedding(3, 2, mask_zero=True)],
    "Lambda": [ARGUMENTS["Lambda"], lambda lib: lib.layers.Lambda(lambda x: x, mask=None),
               lambda lib: lib.layers.Lambda(lambda x: x, mask=lambda x, m: m)],
}


def _makers(name):
    if name in VARIANTS:
        return VARIANTS[name]
    if name in ARGUMENTS:
        return [ARGUMENTS[name]]
    for args in [(), (2,), (2, 2)]:  # sizes for the layers whose arguments are sizes
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(cornu.layers, name)(*args)
                getattr(keras.layers, name)(*args)
        except (TypeError, ValueError):
            continue
        return [lambda lib, args=args: getattr(lib.layers, name)(*args)]
    return []


def test_supports_masking_of_every_exported_layer_is_keras():
    compared, differ, left = [], [], []
    for name in cornu.layers.__all__:
        ours = getattr(cornu.layers, name)
        if not (isinstance(ours, type) and issubclass(ours, cornu.layers.Layer)) \
                or not hasattr(keras.layers, name):
            continue
        makers = _makers(name)
        if not makers:
            left.append(name)
        for make in makers:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras' notes on arguments
                got, want = make(cornu).supports_masking, make(keras).supports_masking
            compared.append(name)
            if bool(got) != bool(want):
                differ.append((name, got, want))
    assert not differ
    assert not left
    assert len(set(compared)) >= 100
