"""Embedding(mask_zero=True): the mask flows through Sequential and functional models to
the layers that use it (GlobalAveragePooling1D), as in Keras 3."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

import cornu

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

IDS = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 0, 0, 0, 0], [9, 8, 7, 6, 5, 4]], np.int32)


def functional(lib):
    inputs = lib.Input((6,), dtype="int32")
    x = lib.layers.Embedding(10, 4, mask_zero=True)(inputs)
    x = lib.layers.Dense(3, activation="relu")(x)
    x = lib.layers.LayerNormalization()(x)
    x = lib.layers.GlobalAveragePooling1D()(x)
    return lib.Model(inputs, lib.layers.Dense(1)(x))


def sequential(lib):
    return lib.Sequential([lib.Input((6,), dtype="int32"),
                           lib.layers.Embedding(10, 4, mask_zero=True),
                           lib.layers.Dropout(0.1), lib.layers.GlobalAveragePooling1D(),
                           lib.layers.Dense(1)])


@pytest.mark.parametrize("build", [functional, sequential])
def test_masked_models_predict_as_keras(build):
    ours, theirs = build(cornu), build(keras)
    theirs.set_weights(ours.get_weights())
    with jax.numpy_rank_promotion("allow"):
        want = theirs.predict(IDS, verbose=0)
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), want, rtol=1e-5, atol=1e-6)
    # padding changes nothing: the masked mean ignores it
    padded = ours.predict(np.pad(IDS, ((0, 0), (0, 0))), verbose=0)
    np.testing.assert_allclose(padded, want, rtol=1e-5, atol=1e-6)
    ours.compile(optimizer="adam", loss="mse")
    assert np.isfinite(ours.fit(IDS, np.ones((3, 1)), epochs=1, verbose=0).history["loss"]).all()


def test_the_mask_is_the_nonzero_indices_and_is_saved(tmp_path):
    layer = cornu.layers.Embedding(10, 2, mask_zero=True)
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(IDS)), IDS != 0)
    assert cornu.layers.Embedding(10, 2).compute_mask(IDS) is None
    model = sequential(cornu)
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.layers[0].mask_zero
    np.testing.assert_allclose(loaded.predict(IDS, verbose=0), model.predict(IDS, verbose=0))


def test_masking_layer_as_keras():
    x = np.random.default_rng(1).normal(size=(3, 5, 2)).astype(np.float32)
    x[0, 3:] = 0.0
    x[2, 1] = 0.0

    def build(lib):
        return lib.Sequential([lib.Input((5, 2)), lib.layers.Masking(0.0),
                               lib.layers.Dense(3), lib.layers.GlobalAveragePooling1D()])

    ours, theirs = build(cornu), build(keras)
    theirs.set_weights(ours.get_weights())
    with jax.numpy_rank_promotion("allow"):
        want = theirs.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.LSTM(5),
    lambda lib: lib.layers.GRU(5, return_sequences=True),
    lambda lib: lib.layers.SimpleRNN(5, go_backwards=True),
    lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(4)),
    lambda lib: lib.layers.Bidirectional(lib.layers.GRU(4, return_sequences=True),
                                         merge_mode="sum"),
], ids=["lstm", "gru-sequences", "simple-backwards", "bi-lstm", "bi-gru-sequences"])
def test_recurrent_layers_skip_masked_steps_as_keras(make):
    def build(lib):
        inputs = lib.Input((6,), dtype="int32")
        x = lib.layers.Embedding(10, 3, mask_zero=True)(inputs)
        x = make(lib)(x)
        if len(x.shape) == 3:
            x = lib.layers.GlobalAveragePooling1D()(x)
        return lib.Model(inputs, lib.layers.Dense(1)(x))

    ours = build(cornu)
    with jax.numpy_rank_promotion("allow"):  # Keras broadcasts implicitly
        theirs = build(keras)
        theirs.set_weights(ours.get_weights())
        want = theirs.predict(IDS, verbose=0)
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_a_layer_taking_mask_sees_it_while_the_graph_is_built():
    seen = []

    class TemporalSoftmax(cornu.layers.Layer):
        def call(self, inputs, mask=None):
            seen.append(mask is not None)
            weights = cornu.ops.expand_dims(cornu.ops.cast(mask, "float32"), -1)
            exp = cornu.ops.exp(inputs) * weights
            return exp / cornu.ops.sum(exp, axis=-1, keepdims=True)

    inputs = cornu.Input((None,), dtype="int32")
    x = cornu.layers.Embedding(10, 4, mask_zero=True)(inputs)
    x = cornu.layers.Dense(4)(x)
    # it does not set supports_masking, so its output carries no mask: Keras warns at the
    # graph's building and at the call, and so does cornu
    with pytest.warns(UserWarning, match="'temporal_softmax' .* does not support masking"):
        model = cornu.Model(inputs, TemporalSoftmax()(x))
    with pytest.warns(UserWarning, match="will therefore destroy the mask information"):
        out = np.asarray(model(IDS))
    assert seen and all(seen)
    assert out.shape == (3, 6, 4) and np.isnan(out[0, 3:]).all()  # 0/0 where masked
    np.testing.assert_allclose(out[2].sum(-1), 1.0, rtol=1e-5)
