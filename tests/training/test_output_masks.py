"""An output that carries a mask (Embedding(mask_zero=True) upstream) weighs the compiled
loss and metrics by it, as Keras 3 does: the loss of a batch is the mean over its unmasked
entries, a metric the mean over all unmasked entries seen (in evaluate and validation; in
fit's own steps Keras' metrics are plain means, and so are cornu's). Compared with Keras 3
(JAX backend) from the same weights: evaluate's loss and metrics, and the weights and the
history after fit steps (the last batch partial)."""

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
    x = rng.integers(1, 6, size=(10, 7))
    x[:, 5:] = 0  # padding at the end of every sequence
    x[3, 2:] = 0
    x[0, :] = 0  # a sequence with no token at all
    return x, rng.integers(0, 5, size=(10, 7))


def _functional(lib, activation="softmax"):
    inputs = lib.Input((7,), dtype="int32")
    h = lib.layers.Embedding(6, 4, mask_zero=True)(inputs)
    h = lib.layers.Dense(3, activation="tanh")(h)
    return lib.Model(inputs, lib.layers.Dense(5, activation=activation)(h))


def _sequential(lib, activation="softmax"):
    return lib.Sequential([lib.Input((7,), dtype="int32"),
                           lib.layers.Embedding(6, 4, mask_zero=True),
                           lib.layers.Dense(3, activation="tanh"),
                           lib.layers.Dense(5, activation=activation)])


def _pair(make, loss, metrics, activation="softmax"):
    theirs, ours = make(keras, activation), make(cornu, activation)
    theirs.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, metrics=metrics)
    ours.compile(optimizer=cornu.optimizers.SGD(0.5), loss=loss, metrics=metrics)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _same_logs(a, b):
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_allclose(b[key], a[key], **TOL, err_msg=key)


@pytest.mark.parametrize("make", [_functional, _sequential])
def test_evaluate_and_fit_weigh_the_loss_and_metrics_by_the_output_mask(make):
    x, y = _data()
    theirs, ours = _pair(make, "sparse_categorical_crossentropy", ["accuracy"])
    _same_logs(theirs.evaluate(x, y, batch_size=4, verbose=0, return_dict=True),
               ours.evaluate(x, y, batch_size=4, verbose=0, return_dict=True))
    hk = theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                    validation_data=(x[:7], y[:7]))
    hc = ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                  validation_data=(x[:7], y[:7]))
    for a, b in zip(theirs.get_weights(), ours.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, **TOL)
    for key in hk.history:
        np.testing.assert_allclose(hc.history[key], hk.history[key], **TOL, err_msg=key)


def test_other_losses_and_metrics_and_logits():
    x, y = _data()
    y_hot = np.eye(5, dtype=np.float32)[y]
    theirs, ours = _pair(_functional, "mse", ["mae", "categorical_accuracy"], "linear")
    _same_logs(theirs.evaluate(x, y_hot, batch_size=3, verbose=0, return_dict=True),
               ours.evaluate(x, y_hot, batch_size=3, verbose=0, return_dict=True))
    theirs.fit(x, y_hot, batch_size=3, epochs=1, shuffle=False, verbose=0)
    ours.fit(x, y_hot, batch_size=3, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(theirs.get_weights(), ours.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, **TOL)


def test_sparse_cross_entropy_from_logits_with_a_mask():
    x, y = _data()
    theirs, ours = _functional(keras, "linear"), _functional(cornu, "linear")
    theirs.compile(optimizer="sgd", metrics=["sparse_categorical_accuracy"],
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ours.compile(optimizer="sgd", metrics=["sparse_categorical_accuracy"],
                 loss=cornu.losses.SparseCategoricalCrossentropy(from_logits=True))
    ours.set_weights(theirs.get_weights())
    _same_logs(theirs.evaluate(x, y, batch_size=4, verbose=0, return_dict=True),
               ours.evaluate(x, y, batch_size=4, verbose=0, return_dict=True))


def test_unmasked_outputs_keep_the_plain_program():
    """No output carries a mask: the heads are not masked and the sums are unchanged."""
    model = cornu.Sequential([cornu.Input((3,)), cornu.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    engine = model._engine
    assert not engine.want_masks and len(engine.zero_sums()) == len(engine.sum_names)
    masked = _functional(cornu)
    masked.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    x, y = _data()
    masked.fit(x, y, verbose=0)
    assert masked._engine.want_masks and masked._heads[0].masked


def test_the_step_protocol_path_weighs_by_the_mask_too():
    """Metrics with state of their own run Keras' step protocol (one jitted step per
    batch): the loss and, in evaluate, the metrics see the output's mask there too."""

    def accuracy(lib):
        class Accuracy(lib.metrics.SparseCategoricalAccuracy):
            def result(self):  # a subclass with its own result: the step protocol
                return super().result()

        return Accuracy(name="acc")

    x, y = _data()
    theirs, ours = _functional(keras), _functional(cornu)
    theirs.compile(optimizer=keras.optimizers.SGD(0.5),
                   loss="sparse_categorical_crossentropy", metrics=[accuracy(keras)])
    ours.compile(optimizer=cornu.optimizers.SGD(0.5),
                 loss="sparse_categorical_crossentropy", metrics=[accuracy(cornu)])
    ours.set_weights(theirs.get_weights())
    _same_logs(theirs.evaluate(x, y, batch_size=4, verbose=0, return_dict=True),
               ours.evaluate(x, y, batch_size=4, verbose=0, return_dict=True))
    hk = theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    hc = ours.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(theirs.get_weights(), ours.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, **TOL)
    for key in hk.history:
        np.testing.assert_allclose(hc.history[key], hk.history[key], **TOL, err_msg=key)
