"""Masks inside traced calls, as Keras 3: in a subclassed Model's `call` (or a custom
Layer's `call` that calls sublayers) traced for fit, evaluate and predict, an
Embedding(mask_zero=True)'s mask reaches the next layers (an LSTM or GRU skips the padded
steps) and the output's mask weighs the compiled loss and metrics. Compared with Keras 3
(JAX backend) from the same weights and data."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402

import cornu  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


pytestmark = pytest.mark.usefixtures("user_broadcasting")  # (conftest.py)


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, size=(8, 7))
    for i, n in enumerate([7, 3, 5, 1, 6, 2, 7, 4]):
        x[i, n:] = 0
    return x, rng.normal(size=(8, 7, 1)).astype("float32")


def _subclassed(lib):
    class Tagger(lib.Model):
        def __init__(self):
            super().__init__()
            self.emb = lib.layers.Embedding(20, 8, mask_zero=True)
            self.lstm = lib.layers.LSTM(16, return_sequences=True)
            self.out = lib.layers.Dense(1)

        def call(self, x):
            return self.out(self.lstm(self.emb(x)))

    return Tagger()


def _encoder_layer(lib):
    class Encoder(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.emb = lib.layers.Embedding(20, 6, mask_zero=True)
            self.gru = lib.layers.GRU(5)

        def call(self, x):
            return self.gru(self.emb(x))

    return Encoder()


def _with_encoder(lib):
    class Scorer(lib.Model):
        def __init__(self):
            super().__init__()
            self.encoder = _encoder_layer(lib)
            self.out = lib.layers.Dense(1)

        def call(self, x):
            return self.out(self.encoder(x))

    return Scorer()


def _fit(lib, model, x, y, metrics):
    model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=metrics)
    history = model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    return {"history": history,
            "evaluate": model.evaluate(x, y, verbose=0, return_dict=True),
            "predict": model.predict(x, verbose=0),
            "weights": model.get_weights()}


def _compare(got, want):
    assert got["history"].keys() == want["history"].keys()
    for name, values in want["history"].items():
        np.testing.assert_allclose(got["history"][name], values, err_msg=name, **TOL)
    assert got["evaluate"].keys() == want["evaluate"].keys()
    for name, value in want["evaluate"].items():
        np.testing.assert_allclose(got["evaluate"][name], value, err_msg=name, **TOL)
    np.testing.assert_allclose(got["predict"], want["predict"], **TOL)
    for a, b in zip(got["weights"], want["weights"], strict=True):
        np.testing.assert_allclose(a, b, **TOL)


def test_a_subclassed_model_passes_masks_between_its_layers_in_fit_as_keras():
    x, y = _data()
    theirs, ours = _subclassed(keras), _subclassed(cornu)
    theirs(x[:1])
    ours(x[:1])
    ours.set_weights(theirs.get_weights())
    # before any training: the traced call (model(x) runs it compiled) masks the LSTM
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), **TOL)
    np.testing.assert_array_equal(np.asarray(ours(x)._keras_mask), x != 0)
    want = _fit(keras, theirs, x, y, ["mae"])
    got = _fit(cornu, ours, x, y, ["mae"])
    _compare(got, want)
    # the loss is the mean over the unmasked steps, not over all of them
    values = (np.asarray(ours.predict(x, verbose=0)) - y)[..., 0] ** 2
    keep = x != 0
    loss = ours.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(loss, values[keep].mean(), rtol=1e-5)
    assert abs(values[keep].mean() - values.mean()) > 1e-3


@pytest.mark.parametrize("wrap", ["subclassed", "functional"])
def test_a_custom_layer_chaining_embedding_and_gru_masks_the_gru_as_keras(wrap):
    x, y = _data()
    y = y[:, 0]

    def make(lib):
        if wrap == "subclassed":
            return _with_encoder(lib)
        inputs = lib.Input((7,), dtype="int32")
        return lib.Model(inputs, lib.layers.Dense(1)(_encoder_layer(lib)(inputs)))

    theirs, ours = make(keras), make(cornu)
    theirs(x[:1])
    ours(x[:1])
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), **TOL)
    _compare(_fit(cornu, ours, x, y, []), _fit(keras, theirs, x, y, []))


def test_masks_are_kept_for_one_trace_and_unmasked_models_do_not_look_for_them():
    class Plain(cornu.Model):
        def __init__(self):
            super().__init__()
            self.dense = cornu.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    plain = Plain()
    plain.compile(optimizer="sgd", loss="mse")
    plain.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
    assert not plain._engine.want_masks  # no layer makes masks: the plain loss program

    model = _subclassed(cornu)
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    assert model._engine.want_masks
    assert cornu.variables.current_scope() is None
    # a traced call's scope holds its masks; none outlives it (eager arrays keep theirs
    # in the weak table only while they live)
    scope = cornu.variables.StatelessScope()
    with scope:
        out = model.emb(jax.numpy.asarray(x))
        assert scope.mask_of(out) is not None
    assert cornu.variables.output_mask(out) is None


def test_attention_in_a_subclassed_call_takes_the_masks_as_keras():
    """MultiHeadAttention's query and value masks come from its arguments' masks, and the
    pooling takes its input's, as Keras fills them in."""
    def make(lib):
        class Attends(lib.Model):
            def __init__(self):
                super().__init__()
                self.emb = lib.layers.Embedding(20, 8, mask_zero=True)
                self.mha = lib.layers.MultiHeadAttention(2, 4)
                self.pool = lib.layers.GlobalAveragePooling1D()
                self.out = lib.layers.Dense(1)

            def call(self, x):
                h = self.emb(x)
                return self.out(self.pool(self.mha(h, h)))

        return Attends()

    x, _ = _data()
    theirs, ours = make(keras), make(cornu)
    theirs(x[:1])
    ours(x[:1])
    ours.set_weights(theirs.get_weights())
    # model(x) runs the traced call (one compiled program), as predict does
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), **TOL)
