"""What users' steps, losses and metrics receive, as in Keras 3: the targets in the shape
and dtype given, x alone when there are no targets, and predictions in the structure of the
model's outputs."""

from __future__ import annotations

import jax
import numpy as np

import cornu
from cornu import layers, ops

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 5)).astype(np.float32)


def test_a_metric_sees_the_targets_as_given():
    seen = []

    class Seen(cornu.metrics.Metric):
        def __init__(self, name="seen", **kwargs):
            super().__init__(name=name, **kwargs)
            self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")

        def update_state(self, y_true, y_pred, sample_weight=None):
            seen.append((tuple(y_true.shape), str(y_true.dtype)))
            # Keras' guide metric: (n, 1) labels against (n, 1) argmax
            labels = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            same = ops.cast(ops.cast(y_true, "int32") == ops.cast(labels, "int32"), "float32")
            self.hits.assign_add(ops.sum(same))

        def result(self):
            return self.hits

    y = (np.arange(40) % 3).astype(np.float64).reshape(-1, 1)
    model = cornu.Sequential([cornu.Input((5,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[Seen()])
    history = model.fit(X, y, batch_size=16, epochs=1, verbose=0).history
    assert seen[0] == ((16, 1), "float32")
    assert 0 <= history["seen"][0] <= 40  # a count of samples, not of a batch x batch grid


def test_train_step_gets_x_alone_without_targets():
    received = []

    class AutoEncoder(cornu.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.code = layers.Dense(2)
            self.out = layers.Dense(5)

        def call(self, x):
            return self.out(self.code(x))

        def train_step(self, state, data):
            received.append(type(data).__name__)
            trainable, non_trainable, opt_vars, metric_vars = state
            x = data

            def loss_fn(t):
                pred, _ = self.stateless_call(t, non_trainable, x, training=True)
                return ops.mean(ops.square(pred - x))

            loss, grads = jax.value_and_grad(loss_fn)(trainable)
            trainable, opt_vars = self.optimizer.stateless_apply(opt_vars, grads, trainable)
            # not "loss": logs with the metrics' names report the metrics (the loss
            # tracker, untouched here), as Keras does
            return {"mse": loss}, (trainable, non_trainable, opt_vars, metric_vars)

    cornu.utils.set_random_seed(0)
    model = AutoEncoder()
    model.compile(optimizer=cornu.optimizers.Adam(0.01))
    history = model.fit(X, epochs=10, batch_size=40, shuffle=False, verbose=0).history
    assert received and all(kind in ("ArrayImpl", "DynamicJaxprTracer") or "Tracer" in kind
                            or "Array" in kind for kind in received), received
    assert history["mse"][-1] < history["mse"][0]


def test_dict_outputs_predict_a_dict():
    inputs = cornu.Input((5,), name="features")
    score = layers.Dense(1, name="score")(inputs)
    kind = layers.Dense(3, activation="softmax", name="kind")(inputs)
    model = cornu.Model(inputs, {"score": score, "kind": kind})
    out = model.predict(X, verbose=0)
    assert isinstance(out, dict) and list(out) == ["score", "kind"]
    assert out["score"].shape == (40, 1) and out["kind"].shape == (40, 3)


def test_one_dimensional_data_for_a_one_feature_input_gains_the_axis():
    x = np.linspace(0, 1, 64).astype(np.float32)
    model = cornu.Sequential([cornu.Input((1,)), layers.Dense(1)])
    model.compile(optimizer=cornu.optimizers.Adam(0.1), loss="mse")
    history = model.fit(x, 3 * x + 1, epochs=20, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(x[:, None], verbose=0))


def test_a_recompile_with_another_optimizer_makes_new_steps():
    model = cornu.Sequential([cornu.Input((5,)), layers.Dense(1)])
    y = X[:, :1]
    model.compile(optimizer="adam", loss="mse", metrics=[cornu.metrics.RootMeanSquaredError()])
    model.fit(X, y, epochs=1, verbose=0)
    model.compile(optimizer=cornu.optimizers.SGD(0.1), loss="mse",
                  metrics=[cornu.metrics.RootMeanSquaredError()])
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert int(model.optimizer.iterations.value) == 5  # the new optimizer did the steps
