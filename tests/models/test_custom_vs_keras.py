"""The same custom layer, model, loss and metric in Keras 3 (JAX backend) and cornu give the
same numbers from the same weights."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402

import cornu  # noqa: E402


@pytest.fixture(autouse=True)
def _user_broadcasting():
    """User code broadcasts as NumPy does (the suite is strict for cornu's own code)."""
    with jax.numpy_rank_promotion("allow"):
        yield


def make_linear(lib):
    class Linear(lib.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")
            self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="calls")

        def call(self, inputs, training=False):
            if training:
                self.calls.assign(self.calls + 1.0)
            self.add_loss(1e-2 * lib.ops.mean(lib.ops.square(self.w)))
            return lib.ops.tanh(lib.ops.matmul(inputs, self.w) + self.b)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Linear


def make_model(lib):
    linear = make_linear(lib)

    class Net(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = linear(8)
            self.out = lib.layers.Dense(1)

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs, training=training))

    return Net()


def make_loss(lib):
    class ScaledMSE(lib.losses.Loss):
        def call(self, y_true, y_pred):
            return 2.0 * lib.ops.mean(lib.ops.square(y_true - y_pred), axis=-1)

    return ScaledMSE()


def make_metric(lib):
    class MeanAbsError(lib.metrics.Metric):
        def __init__(self, name="abs_err", **kwargs):
            super().__init__(name=name, **kwargs)
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            err = lib.ops.abs(y_true - y_pred)
            self.total.assign(self.total + lib.ops.sum(err))
            self.count.assign(self.count + lib.ops.cast(lib.ops.size(err), "float32"))

        def result(self):
            return self.total / self.count

    return MeanAbsError()


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = (x[:, :1] * 0.5 - x[:, 1:2]).astype("float32")
    return x, y


def twins(data):
    x, _ = data
    k, c = make_model(keras), make_model(cornu)
    k(x[:2]), c(x[:2])
    assert len(k.weights) == len(c.weights) == 5
    c.set_weights(k.get_weights())
    return k, c


def test_forward_and_layer_losses_match(data):
    x, _ = data
    k, c = twins(data)
    np.testing.assert_allclose(c.predict(x, verbose=0), k.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    _ = c.hidden(x)
    _ = k.hidden(x)
    np.testing.assert_allclose(float(c.hidden.losses[0]), float(k.hidden.losses[0]),
                               rtol=1e-6)


def test_training_with_custom_loss_and_metric_matches(data):
    x, y = data
    k, c = twins(data)
    for model, lib in ((k, keras), (c, cornu)):
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss=make_loss(lib),
                      metrics=[make_metric(lib)])
    hk = k.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    hc = c.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for name in ("loss", "abs_err"):
        np.testing.assert_allclose(hc.history[name], hk.history[name], rtol=2e-4)
    for a, b in zip(c.get_weights(), k.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5)
    assert float(c.hidden.calls.value) == 12.0  # the non-trainable counter, 4 steps x 3
    assert int(c.optimizer.iterations.value) == int(k.optimizer.iterations.value) == 12
    ek, ec = k.evaluate(x, y, verbose=0), c.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ec, ek, rtol=2e-4)


def test_plain_function_loss_and_1d_targets_match(data):
    x, y = data
    k, c = twins(data)
    for model, lib in ((k, keras), (c, cornu)):
        def loss(y_true, y_pred, lib=lib):
            return lib.ops.mean(lib.ops.abs(y_true - y_pred), axis=-1)

        model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss=loss)
    hk = k.fit(x, y[:, 0], batch_size=32, epochs=2, shuffle=False, verbose=0)
    hc = c.fit(x, y[:, 0], batch_size=32, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(hc.history["loss"], hk.history["loss"], rtol=2e-4)


def test_binary_classifier_on_1d_labels_matches_keras():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")  # shape (n,), as users pass it
    models = []
    for lib in (keras, cornu):
        model = lib.Sequential([lib.Input(shape=(4,)), lib.layers.Dense(8, activation="relu"),
                                lib.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.05),
                      loss="binary_crossentropy", metrics=["accuracy"])
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    hk = models[0].fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    hc = models[1].fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(hc.history["loss"], hk.history["loss"], rtol=1e-4)
    # a prediction on the 0.5 threshold may fall either way in float32: one sample at most
    np.testing.assert_allclose(hc.history["accuracy"], hk.history["accuracy"], atol=1.5 / 96)
