"""Masks in eager code, as Keras 3: `model(x)` outside fit returns outputs that carry the
mask of an Embedding(mask_zero=True) upstream (Keras' `_keras_mask`), so a loss object,
`model.compute_loss` and a metric computed on them weigh only the unmasked steps, as fit
and evaluate do; TimeDistributed hands the time steps' mask on; an eager layer call hands
a mask to the next layer. Compared with Keras 3 (JAX backend) from the same weights."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import cornu  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)


pytestmark = pytest.mark.usefixtures("user_broadcasting")  # (conftest.py)


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, size=(4, 6))
    x[0, 4:] = 0
    x[1, 2:] = 0
    x[3, 5:] = 0
    return x, rng.integers(0, 3, size=(4, 6))


def _sequential(lib):
    return lib.Sequential([lib.Input((6,), dtype="int32"),
                           lib.layers.Embedding(10, 4, mask_zero=True),
                           lib.layers.LSTM(5, return_sequences=True),
                           lib.layers.TimeDistributed(lib.layers.Dense(3, activation="softmax"))])


def _functional(lib):
    inputs = lib.Input((6,), dtype="int32")
    h = lib.layers.Embedding(10, 4, mask_zero=True)(inputs)
    h = lib.layers.LSTM(5, return_sequences=True)(h)
    outputs = lib.layers.TimeDistributed(lib.layers.Dense(3, activation="softmax"))(h)
    return lib.Model(inputs, outputs)


def _eager_numbers(lib, model, x, y):
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    y_pred = model(x)
    loss = lib.losses.SparseCategoricalCrossentropy()
    metric = lib.metrics.SparseCategoricalAccuracy()
    metric.update_state(y, y_pred)
    weights = (np.arange(24.0).reshape(4, 6) % 5).astype("float32")
    return {"mask": np.asarray(y_pred._keras_mask),
            "loss": float(loss(y, y_pred)),
            "weighted_loss": float(loss(y, y_pred, sample_weight=weights)),
            "compute_loss": float(model.compute_loss(x, y, y_pred)),
            "metric": float(metric.result()),
            "evaluate": model.evaluate(x, y, verbose=0)}


@pytest.mark.parametrize("make", [_sequential, _functional])
def test_an_eager_output_carries_its_mask_into_losses_and_metrics_as_keras(make):
    x, y = _data()
    theirs, ours = make(keras), make(cornu)
    ours.set_weights(theirs.get_weights())
    got = _eager_numbers(cornu, ours, x, y)
    want = _eager_numbers(keras, theirs, x, y)
    np.testing.assert_array_equal(got.pop("mask"), want.pop("mask"))
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, err_msg=name, **TOL)
    # the loss is the mean over the unmasked steps (the function form ignores the mask)
    values = np.asarray(cornu.losses.sparse_categorical_crossentropy(y, ours(x)))
    keep = x != 0
    np.testing.assert_allclose(got["loss"], values[keep].mean(), **TOL)
    assert abs(values[keep].mean() - values.mean()) > 1e-6
    # model(x, training=True) carries it too
    assert cornu.ops.all(ours(x, training=True)._keras_mask == (x != 0))


def test_time_distributed_hands_the_mask_on_symbolically_and_to_its_layer():
    seen = []

    class Sees(cornu.layers.Layer):
        def call(self, inputs, mask=None):
            seen.append(None if mask is None else tuple(mask.shape))
            return inputs

    inputs = cornu.Input((6,), dtype="int32")
    h = cornu.layers.Embedding(10, 4, mask_zero=True)(inputs)
    out = cornu.layers.TimeDistributed(Sees())(h)
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 6)
    model = cornu.Model(inputs, out)
    x, _ = _data()
    model(x)
    assert seen[-1] == (24,)  # the (batch * time,) mask, as Keras' step loop gives each step
    with pytest.raises(ValueError, match="mask passed to TimeDistributed"):
        cornu.layers.TimeDistributed(cornu.layers.Dense(2))(
            np.ones((2, 3, 4), "float32"), mask=np.ones((2, 4), bool))


def test_eager_layer_calls_hand_the_mask_on_as_keras():
    """Keras' masking guide: an eager Embedding's output has `_keras_mask`, and the next
    layer receives it."""
    raw = np.array([[711, 632, 71, 0, 0, 0], [73, 8, 3215, 55, 927, 0],
                    [83, 91, 1, 645, 1253, 927]])
    masks = []
    for lib in (cornu, keras):
        lib.utils.set_random_seed(0)
        embedded = lib.layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(raw)
        out = lib.layers.Dense(4)(embedded)  # supports masking: hands it on
        masks.append((np.asarray(embedded._keras_mask), np.asarray(out._keras_mask)))
    for a, b in zip(*masks, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(masks[0][0], raw != 0)
