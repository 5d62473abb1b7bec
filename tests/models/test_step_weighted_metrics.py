"""compile(weighted_metrics=...) on models with their own train_step / test_step, as in
Keras 3: `model.metrics` is [loss tracker, compile_metrics], and compile_metrics hands the
sample weights to the weighted metrics only, whether a step loops over `model.metrics`
with the stateless API (Keras' JAX guide) or calls `compute_metrics` in a StatelessScope.
Compared with Keras on the same weights and data."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402

import cornu  # noqa: E402

X = np.arange(8, dtype="float32").reshape(8, 1) / 4
Y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
SW = np.array([1, 1, 1, 1, 1, 1, 1, 5.0], "float32")
KERNEL = [np.array([[1.0, -1.0, 0.0]], "float32"), np.zeros(3, "float32")]


def _stateless_metrics(model, metric_values, loss, y, y_pred, sample_weight):
    """Keras' JAX guide: each of model.metrics updated with the stateless API."""
    new, logs = [], {}
    for metric in model.metrics:
        values = metric_values[len(new):len(new) + len(metric.variables)]
        if metric.name == "loss":
            values = metric.stateless_update_state(values, loss)
        else:
            values = metric.stateless_update_state(values, y, y_pred,
                                                   sample_weight=sample_weight)
        logs[metric.name] = metric.stateless_result(values)
        new += values
    return logs, new


def _models(lib):
    class GuideStep(lib.Model):
        def compute_loss_and_updates(self, t, n, x, y, sw, training=False):
            y_pred, n = self.stateless_call(t, n, x, training=training)
            return self.compute_loss(x, y, y_pred, sw), (y_pred, n)

        def train_step(self, state, data):
            t, n, o, m = state
            x, y, sw = lib.utils.unpack_x_y_sample_weight(data)
            (loss, (y_pred, n)), grads = jax.value_and_grad(
                self.compute_loss_and_updates, has_aux=True)(t, n, x, y, sw, training=True)
            t, o = self.optimizer.stateless_apply(o, grads, t)
            logs, m = _stateless_metrics(self, m, loss, y, y_pred, sw)
            return logs, (t, n, o, m)

        def test_step(self, state, data):
            t, n, m = state
            x, y, sw = lib.utils.unpack_x_y_sample_weight(data)
            y_pred, n = self.stateless_call(t, n, x, training=False)
            loss = self.compute_loss(x, y, y_pred, sw)
            logs, m = _stateless_metrics(self, m, loss, y, y_pred, sw)
            return logs, (t, n, m)

    class ScopeStep(lib.Model):
        def train_step(self, state, data):
            t, n, o, m = state
            x, y, sw = lib.utils.unpack_x_y_sample_weight(data)

            def loss_fn(t, n):
                y_pred, n = self.stateless_call(t, n, x, training=True)
                return self.compute_loss(x, y, y_pred, sw), (y_pred, n)

            (loss, (y_pred, n)), grads = jax.value_and_grad(loss_fn, has_aux=True)(t, n)
            t, o = self.optimizer.stateless_apply(o, grads, t)
            mapping = list(zip(self.metrics_variables, m, strict=True))
            with lib.StatelessScope(state_mapping=mapping) as scope:
                self.metrics[0].update_state(loss)
                logs = self.compute_metrics(x, y, y_pred, sw)
            m = [scope.get_current_value(v) for v in self.metrics_variables]
            return logs, (t, n, o, m)

    class StatelessLossStep(lib.Model):
        """Keras' default JAX step, written out: stateless_compute_loss updates each
        output's loss tracker (a model with several outputs needs it)."""

        def train_step(self, state, data):
            t, n, o, m = state
            x, y, sw = lib.utils.unpack_x_y_sample_weight(data)

            def loss_fn(t, n, m):
                y_pred, n = self.stateless_call(t, n, x, training=True)
                loss, (t, n, m) = self.stateless_compute_loss(
                    t, n, m, x=x, y=y, y_pred=y_pred, sample_weight=sw, training=True)
                return loss, (y_pred, n, m)

            (loss, (y_pred, n, m)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                t, n, m)
            t, o = self.optimizer.stateless_apply(o, grads, t)
            mapping = list(zip(self.metrics_variables, m, strict=True))
            with lib.StatelessScope(state_mapping=mapping) as scope:
                self.metrics[0].update_state(loss)
                logs = self.compute_metrics(x, y, y_pred, sw)
            m = [scope.get_current_value(v) for v in self.metrics_variables]
            return logs, (t, n, o, m)

    return {"guide": GuideStep, "scope": ScopeStep, "stateless_loss": StatelessLossStep}


def _one_output_run(lib, style):
    inputs = lib.Input(shape=(1,))
    outputs = lib.layers.Dense(3, activation="softmax")(inputs)
    model = _models(lib)[style](inputs, outputs)
    model.compile(optimizer=lib.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=[
                      "accuracy", lib.metrics.SparseCategoricalCrossentropy(name="xent")])
    model.layers[-1].set_weights(KERNEL)
    history = model.fit(X, Y, sample_weight=SW, batch_size=4, epochs=2, verbose=0,
                        shuffle=False).history
    out = {"history": history}
    if style == "guide":
        out["evaluate"] = model.evaluate(X, Y, sample_weight=SW, batch_size=4, verbose=0,
                                         return_dict=True)
    out["weights"] = model.get_weights()
    return out


def _compare(ours, theirs):
    assert sorted(ours["history"]) == sorted(theirs["history"])
    for name, values in theirs["history"].items():
        np.testing.assert_allclose(ours["history"][name], values, rtol=1e-5, err_msg=name)
    if "evaluate" in theirs:
        assert sorted(ours["evaluate"]) == sorted(theirs["evaluate"])
        for name, value in theirs["evaluate"].items():
            np.testing.assert_allclose(ours["evaluate"][name], value, rtol=1e-5,
                                       err_msg=name)
    for a, b in zip(ours["weights"], theirs["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("style", ["guide", "scope", "stateless_loss"])
def test_weighted_metrics_in_a_custom_train_step_match_keras(style):
    ours = _one_output_run(cornu, style)
    with jax.numpy_rank_promotion("allow"):
        theirs = _one_output_run(keras, style)
    _compare(ours, theirs)
    history = ours["history"]
    assert sorted(history) == ["accuracy", "loss", "weighted_accuracy", "xent"]
    # accuracy unweighted (half right), weighted_accuracy weighted (the 5 on a miss)
    assert history["accuracy"][0] == pytest.approx(0.5)
    assert history["weighted_accuracy"][0] == pytest.approx(1 / 3)


def _two_output_run(lib):
    inputs = lib.Input(shape=(1,))
    a = lib.layers.Dense(3, activation="softmax", name="a")(inputs)
    b = lib.layers.Dense(1, name="b")(inputs)
    model = _models(lib)["stateless_loss"](inputs, [a, b])
    model.compile(optimizer=lib.optimizers.SGD(0.05),
                  loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]],
                  weighted_metrics=[["accuracy"], ["mae"]])
    model.get_layer("a").set_weights(KERNEL)
    model.get_layer("b").set_weights([np.array([[0.5]], "float32"), np.zeros(1, "float32")])
    y_b = (X * 2 - 1).astype("float32")
    history = model.fit(X, [Y, y_b], sample_weight=SW, batch_size=4, epochs=2,
                        verbose=0, shuffle=False).history
    evaluated = model.evaluate(X, [Y, y_b], sample_weight=SW, batch_size=4, verbose=0,
                               return_dict=True)
    names = [m.name for m in model.metrics]
    return {"history": history, "evaluate": evaluated, "weights": model.get_weights(),
            "names": names}


def test_weighted_metrics_per_output_in_a_custom_train_step_match_keras():
    ours = _two_output_run(cornu)
    with jax.numpy_rank_promotion("allow"):
        theirs = _two_output_run(keras)
    _compare(ours, theirs)
    assert sorted(ours["history"]) == ["a_accuracy", "a_loss", "a_weighted_accuracy", "b_loss",
                                       "b_mae", "b_weighted_mae", "loss"]
    assert ours["names"] == theirs["names"] == ["loss", "compile_metrics", "a_loss", "b_loss"]


def test_compile_metrics_lists_the_metrics_and_reading_it_renames_nothing():
    """model.metrics as Keras lists it; reading it used to prefix the metric objects'
    names in place, so the next fit logged 'a_a_mae'."""
    inputs = cornu.Input((3,))
    a = cornu.layers.Dense(1, name="a")(inputs)
    b = cornu.layers.Dense(1, name="b")(inputs)
    model = cornu.Model(inputs, [a, b])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mse"])
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    first = model.fit(x, [y, y], verbose=0).history
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics", "a_loss", "b_loss"]
    assert [m.name for m in model.metrics[1].metrics] == ["mae", "mae", "mse", "mse"]
    assert set(model.metrics[1].result()) == {"a_mae", "b_mae", "a_mse", "b_mse"}
    again = model.fit(x, [y, y], verbose=0).history
    assert set(first) == set(again) == {"loss", "a_loss", "b_loss", "a_mae", "b_mae",
                                        "a_mse", "b_mse"}


def test_pack_and_unpack_x_y_sample_weight_as_keras():
    x, y, sw = np.ones(2), np.zeros(2), np.full(2, 3.0)
    for data in [x, (x,), (x, y), (x, y, sw), [x, y]]:
        ours = cornu.utils.unpack_x_y_sample_weight(data)
        theirs = keras.utils.unpack_x_y_sample_weight(data)
        assert len(ours) == 3 and all(a is b for a, b in zip(ours, theirs, strict=True))
    for args in [(x,), ((x, y),), (x, y), (x, y, sw)]:
        ours = cornu.utils.pack_x_y_sample_weight(*args)
        theirs = keras.utils.pack_x_y_sample_weight(*args)
        assert type(ours) is type(theirs)
        assert all(a is b for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs),
                                          strict=True))
    with pytest.raises(ValueError, match="sample_weight"):
        cornu.utils.unpack_x_y_sample_weight((x, y, sw, sw))
