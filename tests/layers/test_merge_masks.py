"""Merge layers carry masks as Keras 3's (JAX backend), from the same weights and data: the
output is masked where all inputs are (when every input carries a mask), Concatenate joins
the masks, Dot drops them, and Multiply, Maximum and Minimum leave masked entries out of
their values; the merged mask reaches an LSTM, in model calls, predict, fit and evaluate,
and in eager calls on arrays that carry masks."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")


import cornu  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)


pytestmark = pytest.mark.usefixtures("user_broadcasting")


def _ids():
    rng = np.random.default_rng(0)
    a = rng.integers(1, 10, size=(6, 5))
    b = rng.integers(1, 10, size=(6, 5))
    for i, n in enumerate([5, 3, 1, 4, 2, 5]):
        a[i, n:] = 0
    for i, n in enumerate([2, 5, 3, 1, 4, 5]):
        b[i, n:] = 0
    return a, b


MERGES = {
    "add": lambda lib: lib.layers.Add(),
    "subtract": lambda lib: lib.layers.Subtract(),
    "multiply": lambda lib: lib.layers.Multiply(),
    "average": lambda lib: lib.layers.Average(),
    "maximum": lambda lib: lib.layers.Maximum(),
    "minimum": lambda lib: lib.layers.Minimum(),
    "concatenate": lambda lib: lib.layers.Concatenate(),
    "concatenate_time": lambda lib: lib.layers.Concatenate(axis=1),
    "dot": lambda lib: lib.layers.Dot(axes=2),
}


def _merged(lib, merge, masked_b):
    a_in, b_in = lib.Input((5,), dtype="int32"), lib.Input((5,), dtype="int32")
    a = lib.layers.Embedding(10, 3, mask_zero=True)(a_in)
    b = lib.layers.Embedding(10, 3, mask_zero=masked_b)(b_in)
    merged = MERGES[merge](lib)([a, b])
    seq = lib.layers.LSTM(2, return_sequences=True)(merged)
    return lib.Model([a_in, b_in], [merged, seq])


@pytest.mark.parametrize("masked_b", [True, False], ids=["both_masked", "one_masked"])
@pytest.mark.parametrize("merge", sorted(MERGES))
def test_merge_layers_carry_masks_as_keras(merge, masked_b):
    models = []
    for lib in (cornu, keras):
        lib.utils.set_random_seed(1)
        models.append(_merged(lib, merge, masked_b))
    ours, theirs = models
    for got, want in zip(ours.outputs, theirs.outputs, strict=True):
        assert (got._keras_mask is None) == (getattr(want, "_keras_mask", None) is None)
    theirs.set_weights(ours.get_weights())
    x = list(_ids())
    got, want = ours(x), theirs(x)
    for g, w in zip(got, want, strict=True):  # the merged values, then the LSTM's
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), **TOL)
        w_mask = getattr(w, "_keras_mask", None)
        if w_mask is None:
            assert getattr(g, "_keras_mask", None) is None
        else:
            np.testing.assert_array_equal(np.asarray(g._keras_mask), np.asarray(w_mask))
    for g, w in zip(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), strict=True):
        np.testing.assert_allclose(g, w, **TOL)


@pytest.mark.parametrize("merge", ["multiply", "maximum", "minimum", "add", "concatenate"])
def test_merge_layers_eagerly_read_the_masks_their_inputs_carry_as_keras(merge):
    a_ids, b_ids = _ids()
    outs = []
    for lib in (cornu, keras):
        lib.utils.set_random_seed(2)
        ea = lib.layers.Embedding(10, 3, mask_zero=True)
        eb = lib.layers.Embedding(10, 3, mask_zero=True)
        outs.append((ea, eb, lib))
    for (ours, theirs) in zip(outs[0][:2], outs[1][:2], strict=True):
        ours(a_ids)
        theirs(a_ids)
        theirs.set_weights(ours.get_weights())
    results = []
    for ea, eb, lib in outs:
        y = MERGES[merge](lib)([ea(a_ids), eb(b_ids)])
        results.append((np.asarray(y), np.asarray(y._keras_mask)))
    np.testing.assert_allclose(results[0][0], results[1][0], **TOL)
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_fit_evaluate_predict_of_added_masked_embeddings_into_an_lstm_as_keras():
    a, b = _ids()
    y = np.linspace(-1, 1, 12, dtype="float32").reshape(6, 2)
    results = []
    for lib in (cornu, keras):
        lib.utils.set_random_seed(3)
        a_in, b_in = lib.Input((5,), dtype="int32"), lib.Input((5,), dtype="int32")
        added = lib.layers.Add()([lib.layers.Embedding(10, 4, mask_zero=True)(a_in),
                                  lib.layers.Embedding(10, 4, mask_zero=True)(b_in)])
        model = lib.Model([a_in, b_in], lib.layers.LSTM(2)(added))
        model.compile(optimizer=lib.optimizers.SGD(0.5), loss="mse", metrics=["mae"])
        results.append(model)
    results[1].set_weights(results[0].get_weights())
    numbers = []
    for model in results:
        history = model.fit([a, b], y, epochs=3, batch_size=4, shuffle=False, verbose=0)
        numbers.append((history.history["loss"], history.history["mae"],
                        model.evaluate([a, b], y, verbose=0),
                        model.predict([a, b], verbose=0)))
    for got, want in zip(*numbers, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), **TOL)
