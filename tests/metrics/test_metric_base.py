"""The Metric base class: user subclasses (the Keras guide's shape of code), variables,
the stateless API inside jit, Mean/Sum/MeanMetricWrapper, configs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from metric_checks import check_against_keras, check_config, keras

from cornu import metrics


class CategoricalTruePositives(metrics.Metric):
    """The shape of the Keras guide's example (training & evaluation with built-in
    methods), with jax.numpy in place of keras.ops."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = jnp.reshape(jnp.argmax(y_pred, axis=1), (-1, 1))
        values = jnp.asarray(y_true).astype("int32") == y_pred.astype("int32")
        values = values.astype("float32")
        if sample_weight is not None:
            sample_weight = jnp.asarray(sample_weight).astype("float32")
            values = jnp.multiply(values, sample_weight)
        self.true_positives.assign_add(jnp.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        # The state of the metric will be reset at the start of each epoch.
        self.true_positives.assign(0.0)


LABELS = np.array([[0], [2], [1], [2]])
SCORES = np.array([[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]],
                  np.float32)


def test_user_metric_from_the_keras_guide():
    m = CategoricalTruePositives()
    assert m.name == "categorical_true_positives"
    assert [v.name for v in m.variables] == ["ctp"]
    assert m.variables[0].path == "categorical_true_positives/ctp"
    assert not m.variables[0].trainable
    m.update_state(LABELS, SCORES)
    assert float(m.result()) == 2.0
    m.update_state(LABELS, SCORES, sample_weight=np.array([[0.5], [1], [1], [1]]))
    assert float(m.result()) == 3.5
    m.reset_state()
    assert float(m.result()) == 0.0
    assert float(m(LABELS, SCORES)) == 2.0  # __call__: update, then result

    # stateless, inside jit: values in, values out, the variable untouched
    values = m.stateless_reset_state()
    assert [float(v) for v in values] == [0.0]

    @jax.jit
    def step(values, y, p):
        values = m.stateless_update_state(values, y, p)
        return values, m.stateless_result(values)

    values, result = step(values, LABELS, SCORES)
    values, result = step(values, LABELS, SCORES)
    assert float(result) == 4.0
    assert float(m.result()) == 2.0


def test_the_keras_docstring_metric_with_sub_metric_tracking():
    class BinaryTruePositives(metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_weight(shape=(), initializer="zeros",
                                                  name="true_positives")
            self.mean = metrics.Mean(name="inner_mean")  # a held metric is tracked

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = jnp.logical_and(jnp.asarray(y_true, bool), jnp.asarray(y_pred, bool))
            values = values.astype(self.dtype)
            if sample_weight is not None:
                values = values * jnp.broadcast_to(jnp.asarray(sample_weight, self.dtype),
                                                   values.shape)
            self.true_positives.assign(self.true_positives + jnp.sum(values))
            self.mean.update_state(values)

        def result(self):
            return {"tp": self.true_positives.value, "mean": self.mean.result()}

    m = BinaryTruePositives()
    assert [v.name for v in m.variables] == ["true_positives", "total", "count"]
    values = m.stateless_update_state(m.stateless_reset_state(), [1, 1, 0, 1], [1, 0, 1, 1])
    out = m.stateless_result(values)
    assert float(out["tp"]) == 2.0 and float(out["mean"]) == 0.5
    m.update_state([1, 1, 0, 1], [1, 0, 1, 1])
    m.reset_state()  # the default: every variable, the held metric's too, to zeros
    assert all(float(v.numpy()) == 0.0 for v in m.variables)


def test_forgetting_super_init_is_explained():
    class Broken(metrics.Metric):
        def __init__(self):
            self.total = self.add_variable(shape=(), initializer="zeros")

    with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_stateless_values_must_match_the_variables():
    m = metrics.Mean()
    with pytest.raises(ValueError, match=r"list of 2 values.*Mean\(\).variables"):
        m.stateless_update_state([jnp.zeros(())], [1.0])
    with pytest.raises(ValueError, match=r"list of 2 values"):
        m.stateless_result(jnp.zeros(2))


def test_update_inside_jit_without_the_stateless_api_is_refused():
    m = metrics.Mean()
    with pytest.raises(RuntimeError, match="outside a StatelessScope"):
        jax.jit(lambda x: m.update_state(x))(jnp.ones(3))


def test_base_methods_say_what_is_missing():
    class Empty(metrics.Metric):
        pass

    with pytest.raises(NotImplementedError, match="Empty does not define update_state"):
        Empty().update_state(1)
    assert metrics.Metric.per_sample is None


def test_automatic_names_are_unique():
    assert metrics.TruePositives().name == "true_positives"
    assert metrics.TruePositives().name == "true_positives_1"
    assert metrics.AUC().name == "auc"
    assert metrics.Mean().name == metrics.Mean().name == "mean"  # a default name is kept
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        metrics.Mean(name="")


def test_dtype():
    assert metrics.Mean().dtype == "float32"
    m = metrics.Mean(dtype="mixed_bfloat16")
    assert m.dtype == "bfloat16" and m.get_config()["dtype"] == "bfloat16"
    assert m.variables[0].dtype == jnp.bfloat16
    with pytest.raises(ValueError, match=r"Received: dtype='floaty'"):
        metrics.Mean(dtype="floaty")


@pytest.mark.parametrize("cls", ["Mean", "Sum"])
def test_mean_and_sum_against_keras(cls):
    rng = np.random.default_rng(5)
    data = [(rng.normal(size=(6, 3)).astype(np.float32), None),
            (rng.normal(size=(6, 3)).astype(np.float32), rng.random((6, 1)).astype(np.float32)),
            (rng.normal(size=(6, 3)).astype(np.float32), rng.random((6, 3)).astype(np.float32)),
            (rng.normal(size=(6,)).astype(np.float32), np.float32(0.3))]
    ours, theirs = getattr(metrics, cls)(), getattr(keras.metrics, cls)()
    for values, weight in data:
        ours.update_state(values, sample_weight=weight)
        theirs.update_state(values, sample_weight=weight)
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                               rtol=1e-5)
    ours.update_state(2.0)
    theirs.update_state(2.0)
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                               rtol=1e-5)
    check_config(ours)


def squared(y_true, y_pred):
    return (y_true - y_pred) ** 2


def test_mean_metric_wrapper_of_a_user_function():
    rng = np.random.default_rng(6)
    data = [(rng.normal(size=(5, 2)).astype(np.float32),
             rng.normal(size=(5, 2)).astype(np.float32), w)
            for w in (None, rng.random(5).astype(np.float32))]
    check_against_keras(metrics.MeanMetricWrapper(squared),
                        keras.metrics.MeanMetricWrapper(squared), data, jit=True)
    m = metrics.MeanMetricWrapper(squared)
    assert m.name == "squared"
    per = np.asarray(m.per_sample(data[0][0], data[0][1]))
    np.testing.assert_allclose(per, ((data[0][0] - data[0][1]) ** 2).mean(-1), rtol=1e-6)
    assert m.get_config()["fn"] is squared
    assert metrics.MeanMetricWrapper.from_config(m.get_config()).per_sample is not None


def test_mean_metric_wrapper_of_a_cornu_function_has_a_plain_config():
    m = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="acc_07", threshold=0.7)
    config = m.get_config()
    assert config == {"name": "acc_07", "dtype": "float32", "fn": "binary_accuracy",
                      "threshold": 0.7}
    copy = metrics.MeanMetricWrapper.from_config(config)
    y, p = np.array([[1.0], [0.0]]), np.array([[0.8], [0.6]])
    assert float(copy(y, p)) == 1.0
    with pytest.raises(TypeError, match="fn must be a function"):
        metrics.MeanMetricWrapper("mse")


def test_per_sample_is_none_when_update_or_result_is_overridden():
    class Scaled(metrics.MeanMetricWrapper):
        def result(self):
            return 2 * super().result()

    class Counted(metrics.MeanMetricWrapper):
        def update_state(self, y_true, y_pred, sample_weight=None):
            super().update_state(y_true, y_pred, sample_weight)

    assert Scaled(squared).per_sample is None
    assert Counted(squared).per_sample is None
    assert metrics.CategoricalAccuracy().per_sample is not None


def test_serialize_and_deserialize():
    for m in (metrics.AUC(curve="PR", num_thresholds=20), metrics.BinaryAccuracy(threshold=0.3),
              metrics.Precision(thresholds=[0.2, 0.4], class_id=1),
              metrics.TopKCategoricalAccuracy(k=3, name="top3")):
        config = metrics.serialize(m)
        assert config["class_name"] == type(m).__name__
        copy = metrics.deserialize(config)
        assert type(copy) is type(m) and copy.get_config() == m.get_config()
    with pytest.raises(ValueError, match="Unknown metric class: class_name='Nope'"):
        metrics.deserialize({"class_name": "Nope", "config": {}})
    custom = metrics.deserialize({"class_name": "CategoricalTruePositives", "config": {}},
                                 custom_objects={"CategoricalTruePositives":
                                                 CategoricalTruePositives})
    assert isinstance(custom, CategoricalTruePositives)


def test_keras_configs_load_in_cornu():
    """A Keras metric's get_config builds the cornu metric (the same numbers)."""
    for name, kwargs in [("AUC", {"curve": "PR", "num_thresholds": 33}),
                         ("Precision", {"thresholds": [0.3, 0.6], "top_k": 2}),
                         ("SparseTopKCategoricalAccuracy", {"k": 3}),
                         ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
                         ("R2Score", {"class_aggregation": None}),
                         ("SpecificityAtSensitivity", {"sensitivity": 0.4})]:
        config = getattr(keras.metrics, name)(**kwargs).get_config()
        ours = getattr(metrics, name).from_config(config)
        assert ours.get_config() == {k: v for k, v in config.items()}, name


def test_a_metric_sized_at_its_first_update_returns_its_new_values():
    m = metrics.R2Score()
    y = np.arange(8, dtype=np.float32).reshape(4, 2)
    values = m.stateless_update_state(m.stateless_reset_state(), y, y + 0.5)
    assert len(values) == len(m.variables) == 5
    assert float(values[0]) == 8.0  # num_samples
    assert float(m.num_samples.numpy()) == 0.0
    np.testing.assert_allclose(float(m.stateless_result(values)), 1 - 0.25 * 4 / 20, rtol=1e-6)


def test_compiled_metrics_are_not_weighted_by_sample_weight_with_a_stateful_metric():
    """With a stateful user metric in compile, fit updates the metrics one by one; compile's
    `metrics` still see no sample_weight (Keras keeps that for weighted_metrics), so the
    built-in accuracy next to it is the plain mean, as in Keras."""
    import cornu

    x = np.arange(8, dtype="float32").reshape(8, 1)
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    sw = np.array([1, 1, 1, 1, 1, 1, 1, 5.0], "float32")
    model = cornu.Sequential([cornu.Input(shape=(1,)),
                              cornu.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=cornu.optimizers.SGD(1e-9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", CategoricalTruePositives()])
    model.layers[0].set_weights([np.array([[1.0, -1.0, 0.0]], "float32"),
                                 np.zeros(3, "float32")])
    history = model.fit(x, y[:, None], sample_weight=sw, batch_size=8, epochs=1, verbose=0)
    assert history.history["accuracy"] == [pytest.approx(0.5)]
    assert history.history["categorical_true_positives"] == [4.0]
    logs = model.evaluate(x, y[:, None], sample_weight=sw, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(0.5)
    assert logs["categorical_true_positives"] == 4.0


def _weighted_run(lib):
    x = np.arange(8, dtype="float32").reshape(8, 1)
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    sw = np.array([1, 1, 1, 1, 1, 1, 1, 5.0], "float32")
    model = lib.Sequential([lib.Input(shape=(1,)), lib.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=lib.optimizers.SGD(1e-9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=[
                      "accuracy", lib.metrics.SparseCategoricalCrossentropy(name="xent")])
    model.layers[0].set_weights([np.array([[1.0, -1.0, 0.0]], "float32"),
                                 np.zeros(3, "float32")])
    out = [model.fit(x, y, sample_weight=sw, batch_size=4, epochs=1, verbose=0).history,
           model.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0, return_dict=True),
           model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True),
           model.fit(x, y, class_weight={0: 1.0, 1: 3.0}, batch_size=4, epochs=1,
                     verbose=0).history]
    return [{k: np.ravel(v)[-1] for k, v in logs.items()} for logs in out]


def test_weighted_metrics_see_sample_and_class_weights_as_in_keras():
    import cornu

    ours = _weighted_run(cornu)
    with jax.numpy_rank_promotion("allow"):
        theirs = _weighted_run(keras)
    for a, b in zip(ours, theirs, strict=True):
        assert sorted(a) == sorted(b) == ["accuracy", "loss", "weighted_accuracy", "xent"]
        for name in a:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-5, err_msg=name)
    assert ours[0]["weighted_accuracy"] == pytest.approx(1 / 3)
    with pytest.raises(TypeError, match=r"weighted_metrics=\['accuracy'\]"):
        cornu.Sequential([cornu.layers.Dense(1)]).compile(loss="mse",
                                                          weighted_metrics="accuracy")
