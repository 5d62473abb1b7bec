"""metrics.get (what compile() resolves), and metric objects inside fit/evaluate."""

import jax
import numpy as np
import pytest
from metric_checks import keras, lenient

import cornu
from cornu import losses, metrics
from cornu.layers import Dense

# Keras' compile names for the metrics cornu has (keras.metrics.get's table)
KERAS_NAMES = {
    "auc": "AUC", "bce": "BinaryCrossentropy", "binary_accuracy": "BinaryAccuracy",
    "binary_crossentropy": "BinaryCrossentropy", "categorical_accuracy": "CategoricalAccuracy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_hinge": "CategoricalHinge", "cosine_similarity": "CosineSimilarity",
    "false_negatives": "FalseNegatives", "false_positives": "FalsePositives",
    "hinge": "Hinge", "kl_divergence": "KLDivergence", "log_cosh_error": "LogCoshError",
    "mae": "MeanAbsoluteError", "mape": "MeanAbsolutePercentageError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_error": "MeanSquaredError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "mse": "MeanSquaredError", "msle": "MeanSquaredLogarithmicError", "poisson": "Poisson",
    "precision": "Precision", "r2_score": "R2Score", "recall": "Recall",
    "root_mean_squared_error": "RootMeanSquaredError",
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy",
    "squared_hinge": "SquaredHinge", "top_k_categorical_accuracy": "TopKCategoricalAccuracy",
    "true_negatives": "TrueNegatives", "true_positives": "TruePositives",
}


@pytest.mark.parametrize(("name", "cls"), sorted(KERAS_NAMES.items()))
def test_keras_names(name, cls):
    assert type(keras.metrics.get(name)).__name__ == cls  # the table is Keras'
    m = metrics.get(name)
    assert type(m).__name__ == cls and m.name == name
    assert type(metrics.get(cls)).__name__ == cls  # class names work too


def test_names_match_loosely_and_show_the_listed_name():
    assert metrics.get("MSE").name == "mse"
    assert metrics.get("mean absolute error").name == "mean_absolute_error"
    assert isinstance(metrics.get("TopKCategoricalAccuracy"), metrics.TopKCategoricalAccuracy)
    assert metrics.get("logcosh").name == "logcosh"


@pytest.mark.parametrize(("loss", "dim", "cls"), [
    ("categorical_crossentropy", 10, metrics.CategoricalAccuracy),
    ("sparse_categorical_crossentropy", 10, metrics.SparseCategoricalAccuracy),
    ("binary_crossentropy", 1, metrics.BinaryAccuracy),
    ("binary_crossentropy", 3, metrics.BinaryAccuracy),
    ("mse", 1, metrics.BinaryAccuracy),
    ("mse", 4, metrics.CategoricalAccuracy),
    (None, None, metrics.CategoricalAccuracy),
])
@pytest.mark.parametrize("spelling", ["accuracy", "acc", "Accuracy"])
def test_accuracy_follows_the_loss(loss, dim, cls, spelling):
    m = metrics.get(spelling, losses.get(loss) if loss else None, dim)
    assert type(m) is cls and m.name == spelling.lower()


def test_classes_instances_functions_and_configs():
    assert isinstance(metrics.get(metrics.AUC), metrics.AUC)
    auc = metrics.AUC(name="my_auc")
    assert metrics.get(auc) is auc

    def hits(y_true, y_pred):
        return (y_true == y_pred).astype("float32")

    wrapped = metrics.get(hits)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "hits"
    as_loss = metrics.get(losses.get("mse"))
    assert as_loss.name == "mean_squared_error" and as_loss.per_sample is not None
    config = metrics.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.9}})
    assert config.threshold == 0.9


def test_unknown_and_unfit_identifiers():
    with pytest.raises(ValueError, match=r"metrics='acuracy'.*Did you mean 'accuracy'"):
        metrics.get("acuracy")
    with pytest.raises(TypeError, match=r"metrics must be a string naming a metric.*5"):
        metrics.get(5)
    with pytest.raises(ValueError, match=r"metrics='precision_at_recall'.*needs arguments"):
        metrics.get("precision_at_recall")


def _model(outputs=3, activation="softmax"):
    cornu.utils.set_random_seed(0)
    return cornu.Sequential([Dense(8, input_shape=(4,), activation="relu"),
                             Dense(outputs, activation=activation)])


def test_metric_objects_in_fit_and_evaluate_give_keras_numbers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 37)]

    def agreement(y_true, y_pred):  # a plain function: the mean of its values
        return (y_true.argmax(-1) == y_pred.argmax(-1)).astype("float32")

    model = _model()
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=["accuracy", metrics.TopKCategoricalAccuracy(k=2),
                           metrics.CategoricalCrossentropy(label_smoothing=0.1), agreement,
                           metrics.MeanSquaredError, "kl_divergence"])
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "top_k_categorical_accuracy",
                                    "categorical_crossentropy", "agreement",
                                    "mean_squared_error", "kl_divergence"}
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    p = np.asarray(model.predict(x, batch_size=8, verbose=0))
    want = {
        "accuracy": keras.metrics.CategoricalAccuracy(),
        "top_k_categorical_accuracy": keras.metrics.TopKCategoricalAccuracy(k=2),
        "categorical_crossentropy": keras.metrics.CategoricalCrossentropy(label_smoothing=0.1),
        "mean_squared_error": keras.metrics.MeanSquaredError(),
        "kl_divergence": keras.metrics.KLDivergence(),
    }
    for name, metric in want.items():
        np.testing.assert_allclose(logs[name], float(lenient(metric)(y, p)), rtol=1e-5,
                                   err_msg=name)
    assert logs["agreement"] == pytest.approx(logs["accuracy"])
    saved = model.get_compile_config()["metrics"]
    assert saved[0] == "accuracy" and saved[3:] == ["agreement", "mean_squared_error",
                                                    "kl_divergence"]
    assert saved[1]["config"]["k"] == 2 and saved[2]["config"]["label_smoothing"] == 0.1


def _binary_data(n=40, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.float32)


def test_stateful_metrics_in_evaluate_give_keras_numbers():
    x, y = _binary_data()
    cornu_model = _model(1, "sigmoid")
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                    keras.layers.Dense(1, activation="sigmoid")])
    keras_model.set_weights(cornu_model.get_weights())
    def specs(lib):  # named: Keras numbers repeated default names in a session (_1, _2)
        return ["auc", lib.metrics.Precision(name="prec"), lib.metrics.AUC(curve="PR", name="pr"),
                lib.metrics.RootMeanSquaredError(name="rmse"),
                lib.metrics.Recall(thresholds=0.3, name="rec")]

    cornu_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=specs(cornu))
    keras_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=specs(keras))
    got = cornu_model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    with jax.numpy_rank_promotion("allow"):
        want = keras_model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert set(got) == set(want)
    for name in want:
        assert got[name] == pytest.approx(want[name], rel=1e-4, abs=1e-6), name


@pytest.mark.parametrize("spec", ["auc", metrics.Precision(), metrics.AUC,
                                  metrics.RootMeanSquaredError()])
def test_stateful_metrics_run_inside_fit(spec):
    x, y = _binary_data()
    model = _model(1, "sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[spec])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y))
    name = {"auc": "auc"}.get(spec, None) if isinstance(spec, str) else None
    keys = [k for k in history.history if k not in ("loss", "val_loss")]
    assert len(keys) == 2 and keys[1] == f"val_{keys[0]}", history.history
    if name:
        assert keys[0] == name
    for values in history.history.values():
        assert len(values) == 2 and all(np.isfinite(values))
    # the epoch's value is the metric over the epoch's batches, not the last batch only
    # as Keras: model.metrics is [loss, compile_metrics]; compile_metrics.metrics the metrics
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics"]
    metric = model.metrics[1].metrics[0]
    assert 0.0 <= history.history[keys[0]][-1] <= max(1.0, float(np.max(y)) * 10)
    metric.reset_state()
    metric.update_state(y[:, None], model.predict(x, verbose=0))
    assert history.history[keys[1]][-1] == pytest.approx(float(metric.result()), rel=1e-4)


def test_saved_compile_settings_keep_metric_settings(tmp_path):
    model = _model()
    top2 = metrics.TopKCategoricalAccuracy(k=2)
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=["accuracy", metrics.CategoricalAccuracy(), top2,
                           metrics.BinaryAccuracy(threshold=0.3, name="b03")])
    config = model.get_compile_config()
    # a name where the name gives the same metric back, else the metric's config
    assert config["metrics"][:2] == ["accuracy", "categorical_accuracy"]
    assert config["metrics"][2] == metrics.serialize(top2)
    assert config["metrics"][3]["config"]["threshold"] == 0.3
    model.save(tmp_path / "m.cornu")
    loaded = cornu.models.load_model(tmp_path / "m.cornu")
    assert loaded.get_compile_config() == config
    x = np.random.default_rng(1).normal(size=(9, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[np.arange(9) % 3]
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == \
        model.evaluate(x, y, verbose=0, return_dict=True)
