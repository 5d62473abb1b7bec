"""Metrics with Keras 3's names and numbers (`keras.metrics`).

    model.compile(..., metrics=["accuracy", cornu.metrics.TopKCategoricalAccuracy(k=3)])

    m = cornu.metrics.AUC()
    m.update_state(y_true, y_pred)
    m.result()

A metric is an object with state (`Metric`; see cornu.metrics.base for the stateless
API that compiled code uses). The `MeanMetricWrapper` family (accuracies, regression
errors, cross-entropies, ...) is the mean of a per-sample function; the training loop
sums their `per_sample` values itself. The confusion-matrix metrics (AUC, Precision,
Recall, TruePositives, ...) and RootMeanSquaredError/R2Score keep other statistics.

`get(identifier, loss, output_dim)` makes the metric objects that compile() uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cornu import losses
from cornu._names import lookup, normalize
from cornu.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from cornu.metrics.base import Metric
from cornu.metrics.confusion_metrics import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from cornu.metrics.f_score_metrics import F1Score, FBetaScore
from cornu.metrics.probabilistic_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    hinge,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from cornu.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from cornu.metrics.regression_metrics import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "FalseNegatives",
    "F1Score",
    "FBetaScore",
    "FalsePositives",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Poisson",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "RootMeanSquaredError",
    "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy",
    "binary_accuracy",
    "binary_crossentropy",
    "categorical_accuracy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy",
    "squared_hinge",
    "top_k_categorical_accuracy",
]

#: the classes by name (what serialize/deserialize use)
_CLASSES: dict[str, type[Metric]] = {cls.__name__: cls for cls in (
    Metric, Mean, Sum, MeanMetricWrapper,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError, R2Score,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    Poisson, Hinge, SquaredHinge, CategoricalHinge,
    TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    FBetaScore, F1Score,
)}

#: compile()'s metric names (Keras' names; matched ignoring case, spaces, '-' and '_').
#: A name's metric is named by the name as listed here ('MSE' -> 'mse').
_NAMES: dict[str, type[Metric]] = {
    "accuracy": Accuracy,  # 'accuracy'/'acc' are resolved from the loss (see get)
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError,
    "cosine_similarity": CosineSimilarity,
    "log_cosh_error": LogCoshError,
    "logcosh": LogCoshError,
    "r2_score": R2Score,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "poisson": Poisson,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "true_positives": TruePositives,
    "false_positives": FalsePositives,
    "true_negatives": TrueNegatives,
    "false_negatives": FalseNegatives,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "precision_at_recall": PrecisionAtRecall,
    "recall_at_precision": RecallAtPrecision,
    "sensitivity_at_specificity": SensitivityAtSpecificity,
    "specificity_at_sensitivity": SpecificityAtSensitivity,
}
_ACCURACY = {"accuracy", "acc"}

#: metric functions by name, for MeanMetricWrapper configs
_FUNCTIONS: dict[str, Callable] = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    log_cosh, cosine_similarity, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge,
    categorical_hinge,
)}


def get(identifier: Any, loss: losses.Loss | None = None,
        output_dim: int | None = None) -> Metric:
    """The metric object compile() uses for one entry of `metrics`:

    - 'accuracy' / 'acc': BinaryAccuracy, SparseCategoricalAccuracy or
      CategoricalAccuracy, as the loss (its label kind) and the output width imply, as
      in Keras; the metric is named as written ('accuracy');
    - another name ('mse', 'auc', 'top_k_categorical_accuracy', 'Precision', ...): that
      class, named by the name ('mse');
    - a Metric class: an instance of it; a Metric instance: itself;
    - a config dict {'class_name': ..., 'config': ...}: see `deserialize`;
    - a function fn(y_true, y_pred) (or a loss object): MeanMetricWrapper(fn), named
      after it.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return _instantiate(identifier, {}, repr(identifier.__name__))
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and normalize(identifier) in _ACCURACY:
        kind = loss.label_kind if loss is not None else None
        name = identifier.strip().lower()
        if kind == "binary" or (kind is None and output_dim == 1):
            return BinaryAccuracy(name=name)
        if kind == "sparse":
            return SparseCategoricalAccuracy(name=name)
        return CategoricalAccuracy(name=name)
    if callable(identifier) and not isinstance(identifier, str | type):
        return MeanMetricWrapper(identifier)
    cls = lookup("metric", "metrics", identifier, _NAMES)
    name = next(k for k in _NAMES if normalize(k) == normalize(identifier))
    return _instantiate(cls, {"name": name}, repr(identifier))


def _instantiate(cls: type[Metric], kwargs: dict[str, Any], shown: str) -> Metric:
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"metrics={shown}: {cls.__name__} needs arguments ({exc}). Pass an "
                         f"instance instead, e.g. cornu.metrics.{cls.__name__}(...).") from None


def serialize(metric: Metric) -> dict[str, Any]:
    """{'class_name': ..., 'config': metric.get_config()} (Keras' layout, without the
    module)."""
    if not isinstance(metric, Metric):
        raise TypeError(f"serialize takes a Metric. Received: {type(metric).__name__}")
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: Mapping[str, Any],
                custom_objects: Mapping[str, Any] | None = None) -> Metric:
    """A metric from serialize()'s dict: cornu's classes, or those in custom_objects."""
    known = {**_CLASSES, **(custom_objects or {})}
    if not isinstance(config, Mapping) or not isinstance(config.get("class_name"), str):
        raise ValueError("A metric config is a dict {'class_name': ..., 'config': {...}}. "
                         f"Received: {config!r}")
    cls = known.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown metric class: class_name={config['class_name']!r}. Pass it "
                         "in custom_objects, or use one of "
                         f"{', '.join(sorted(_CLASSES))}.")
    inner = config.get("config", {})
    if not isinstance(inner, Mapping):
        raise ValueError(f"{config['class_name']}: 'config' must be a dict. Received: "
                         f"{inner!r}")
    return cls.from_config(dict(inner))


def _saved_form(metric: Any) -> str | dict[str, Any]:
    """What a saved model's compile settings hold for one entry of `metrics`: a name, or
    serialize()'s dict for a cornu metric whose settings its name would not give back
    (TopKCategoricalAccuracy(k=2), a renamed metric, ...)."""
    if isinstance(metric, str):
        return metric
    name = getattr(metric, "name", None) or getattr(metric, "__name__", type(metric).__name__)
    if type(metric) not in _CLASSES.values():
        return name  # a user's class or function: by name (loading needs it resolvable)
    try:
        plain = get(name)
    except (TypeError, ValueError):
        plain = None
    if plain is not None and type(plain) is type(metric) \
            and plain.get_config() == metric.get_config():
        return name
    config = serialize(metric)
    try:
        json.dumps(config)
    except (TypeError, ValueError):  # e.g. a MeanMetricWrapper of a user function
        return name
    return config


def _function_config(fn: Callable) -> Any:
    """How a MeanMetricWrapper's config holds its function: cornu's metric functions by
    name; other functions as they are (the config then holds a Python object)."""
    name = getattr(fn, "__name__", None)
    return name if name in _FUNCTIONS and _FUNCTIONS[name] is fn else fn


def _function_from_config(value: Any) -> Callable:
    if callable(value):
        return value
    if isinstance(value, dict):  # Keras' serialized function
        value = value.get("config")
    return lookup("metric function", "fn", value, _FUNCTIONS)

