"""Metrics by their Keras 3 names. Each computes one value per sample, shape (batch,);
the loop keeps sums over an epoch, so every metric is the mean over all samples seen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from cornu import losses
from cornu._names import lookup, normalize
from cornu.variables import StatelessScope, Variable

Array = jax.Array

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Mean",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "Sum",
    "TopKCategoricalAccuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "get",
    "sparse_categorical_accuracy",
]


def categorical_accuracy(y_true: Array, y_pred: Array) -> Array:
    return (jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def sparse_categorical_accuracy(y_true: Array, y_pred: Array) -> Array:
    labels = y_true.astype(jnp.int32)
    if labels.ndim == y_pred.ndim:
        labels = jnp.squeeze(labels, axis=-1)
    return (labels == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def binary_accuracy(y_true: Array, y_pred: Array, threshold: float = 0.5) -> Array:
    hits = (y_true.astype(jnp.float32) == (y_pred > threshold).astype(jnp.float32))
    return losses.mean_per_sample(jnp.mean(hits.astype(jnp.float32), axis=-1))


class Metric:
    """Keras 3's metric base class: state in variables made with `add_variable`,
    `update_state(...)`, `result()`, `reset_state()`, and their stateless forms for
    jitted code. Subclasses override `update_state` and `result`."""

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        import re

        default = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", type(self).__name__).lower()
        self.name = name or default
        self.dtype = dtype or "float32"
        self._variables: list[Variable] = []
        self._initial: list[Any] = []

    def add_variable(self, shape: Any, initializer: Any, dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> Variable:
        variable = Variable(initializer, shape=tuple(shape), dtype=dtype or self.dtype,
                            trainable=False, name=name or f"variable_{len(self._variables)}")
        self._variables.append(variable)
        self._initial.append(variable.value)
        return variable

    add_weight = add_variable

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self) -> None:
        for variable, value in zip(self._variables, self._initial, strict=True):
            variable.assign(jnp.zeros_like(value) + value)

    def stateless_update_state(self, metric_variables: Any, *args: Any, **kwargs: Any) -> list:
        with StatelessScope(list(zip(self._variables, metric_variables, strict=True))) as scope:
            self.update_state(*args, **kwargs)
            return [scope.get_current_value(v) for v in self._variables]

    def stateless_result(self, metric_variables: Any) -> Any:
        with StatelessScope(list(zip(self._variables, metric_variables, strict=True))):
            return self.result()

    def stateless_reset_state(self) -> list:
        return [jnp.zeros_like(value) + value for value in self._initial]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _weighted(values: Array, sample_weight: Any) -> tuple[Array, Array]:
    values = jnp.asarray(values, jnp.float32)
    if sample_weight is None:
        return jnp.sum(values), jnp.asarray(values.size, jnp.float32)
    weight = jnp.asarray(sample_weight, jnp.float32)
    extra = (1,) * (values.ndim - weight.ndim)
    weight = jnp.broadcast_to(jnp.reshape(weight, weight.shape + extra), values.shape)
    return jnp.sum(values * weight), jnp.sum(weight)


class Sum(Metric):
    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name, dtype)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        self.total.assign_add(_weighted(values, sample_weight)[0])

    def result(self) -> Array:
        return self.total.value


class Mean(Metric):
    """The weighted mean of the values it was given."""

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name, dtype)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        total, count = _weighted(values, sample_weight)
        self.total.assign_add(total)
        self.count.assign_add(count)

    def result(self) -> Array:
        return self.total.value / jnp.maximum(self.count.value, 1e-12)


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred)` per sample. The compiled fit sums `per_sample`
    values over the epoch (one fused reduction) instead of updating the variables."""

    def __init__(self, fn: Callable[..., Array], name: str | None = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric"), dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def per_sample(self, y_true: Array, y_pred: Array) -> Array:
        values = jnp.asarray(self.fn(y_true, y_pred, **self._fn_kwargs), jnp.float32)
        return losses._per_sample(values) if values.ndim else values

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        values = self.per_sample(jnp.asarray(y_true), jnp.asarray(y_pred))
        super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}


def _wrapper(class_name: str, fn: Callable[..., Array], default: str,
             **defaults: Any) -> type[MeanMetricWrapper]:
    def __init__(self, name: str = default, dtype: Any = None, **kwargs: Any) -> None:  # noqa: N807
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}

    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__,
                                                    "get_config": get_config})


def top_k_categorical_accuracy(y_true: Array, y_pred: Array, k: int = 5) -> Array:
    return sparse_top_k_categorical_accuracy(jnp.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Array, y_pred: Array, k: int = 5) -> Array:
    labels = jnp.asarray(y_true).astype(jnp.int32)
    if labels.ndim == y_pred.ndim:
        labels = jnp.squeeze(labels, axis=-1)
    target = jnp.take_along_axis(y_pred, labels[..., None], axis=-1)
    higher = jnp.sum((y_pred > target).astype(jnp.int32), axis=-1)
    return (higher < k).astype(jnp.float32)


def accuracy(y_true: Array, y_pred: Array) -> Array:
    return (jnp.asarray(y_true) == jnp.asarray(y_pred)).astype(jnp.float32)


BinaryAccuracy = _wrapper("BinaryAccuracy", lambda t, p, threshold=0.5: binary_accuracy(
    t, p, threshold), "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _wrapper("CategoricalAccuracy", lambda t, p: categorical_accuracy(t, p),
                               "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper(
    "SparseCategoricalAccuracy", lambda t, p: sparse_categorical_accuracy(t, p),
    "sparse_categorical_accuracy")
Accuracy = _wrapper("Accuracy", accuracy, "accuracy")
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   "top_k_categorical_accuracy", k=5)
SparseTopKCategoricalAccuracy = _wrapper(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy", k=5)
MeanSquaredError = _wrapper("MeanSquaredError", lambda t, p: losses.mean_squared_error(t, p),
                            "mean_squared_error")
MeanAbsoluteError = _wrapper("MeanAbsoluteError",
                             lambda t, p: losses.mean_absolute_error(t, p),
                             "mean_absolute_error")


class RootMeanSquaredError(Mean):
    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = jnp.asarray(y_pred, jnp.float32)
        y_true = jnp.reshape(jnp.asarray(y_true, jnp.float32), y_pred.shape)
        super().update_state(jnp.square(y_true - y_pred), sample_weight)

    def result(self) -> Array:
        return jnp.sqrt(super().result())


class _Confusion(Metric):
    """True/false positives at a threshold, for Precision and Recall."""

    def __init__(self, thresholds: float | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(name, dtype)
        threshold = 0.5 if thresholds is None else thresholds
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
                or not 0 <= threshold <= 1:
            raise ValueError(f"thresholds must be a number in [0, 1]. Received: "
                             f"thresholds={thresholds!r}")
        self.thresholds = thresholds
        self._threshold = float(threshold)
        self.true_positives = self.add_variable((), "zeros", name="true_positives")
        self.false_positives = self.add_variable((), "zeros", name="false_positives")
        self.false_negatives = self.add_variable((), "zeros", name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = jnp.asarray(y_pred, jnp.float32)
        y_true = jnp.reshape(jnp.asarray(y_true, jnp.float32), y_pred.shape) > 0.5
        predicted = y_pred > self._threshold
        weight = jnp.ones(y_pred.shape[:1], jnp.float32) if sample_weight is None else \
            jnp.asarray(sample_weight, jnp.float32)
        weight = jnp.broadcast_to(jnp.reshape(weight, weight.shape + (1,) * (
            y_pred.ndim - weight.ndim)), y_pred.shape)
        self.true_positives.assign_add(jnp.sum(weight * (predicted & y_true)))
        self.false_positives.assign_add(jnp.sum(weight * (predicted & ~y_true)))
        self.false_negatives.assign_add(jnp.sum(weight * (~predicted & y_true)))

    def get_config(self) -> dict[str, Any]:
        return {"thresholds": self.thresholds, "name": self.name, "dtype": self.dtype}


class Precision(_Confusion):
    def __init__(self, thresholds: float | None = None, name: str = "precision",
                 dtype: Any = None) -> None:
        super().__init__(thresholds, name, dtype)

    def result(self) -> Array:
        tp = self.true_positives.value
        return jnp.where(tp + self.false_positives.value > 0,
                         tp / jnp.maximum(tp + self.false_positives.value, 1e-12), 0.0)


class Recall(_Confusion):
    def __init__(self, thresholds: float | None = None, name: str = "recall",
                 dtype: Any = None) -> None:
        super().__init__(thresholds, name, dtype)

    def result(self) -> Array:
        tp = self.true_positives.value
        return jnp.where(tp + self.false_negatives.value > 0,
                         tp / jnp.maximum(tp + self.false_negatives.value, 1e-12), 0.0)


def _per_sample(fn: Callable[[Array, Array], Array]) -> Callable[[Array, Array], Array]:
    """A loss function (Keras' values: a mean over the last axis) as a per-sample metric."""
    def metric(y_true: Array, y_pred: Array) -> Array:
        return losses.mean_per_sample(fn(y_true, y_pred))

    metric.__name__ = fn.__name__
    return metric


_MSE, _MAE = _per_sample(losses.mean_squared_error), _per_sample(losses.mean_absolute_error)
_FUNCTIONS: dict[str, Callable[[Array, Array], Array]] = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "mean_squared_error": _MSE,
    "mse": _MSE,
    "mean_absolute_error": _MAE,
    "mae": _MAE,
    "categorical_crossentropy": _per_sample(losses.categorical_crossentropy),
    "sparse_categorical_crossentropy": _per_sample(losses.sparse_categorical_crossentropy),
    "binary_crossentropy": _per_sample(losses.binary_crossentropy),
}
_ACCURACY = {"accuracy", "acc"}


def get(identifier: str | Metric, loss: losses.Loss | None, output_dim: int | None) -> Metric:
    """A Metric. 'accuracy' becomes the binary, sparse or categorical accuracy that the
    loss and output width imply, as in Keras; the name shown stays 'accuracy'."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str) and identifier in _NAMED:
        return _NAMED[identifier]()
    if callable(identifier) and not isinstance(identifier, str):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    if isinstance(identifier, str) and normalize(identifier) in _ACCURACY:
        kind = loss.label_kind if loss is not None else None
        if kind == "binary" or (kind is None and output_dim == 1):
            fn = binary_accuracy
        elif kind == "sparse":
            fn = sparse_categorical_accuracy
        else:
            fn = categorical_accuracy
        return MeanMetricWrapper(fn, name=identifier.strip().lower())
    # 'accuracy' is listed so that a misspelling of it gets suggested; it is handled above
    fn = lookup("metric", "metrics", identifier, {**_FUNCTIONS, "accuracy": binary_accuracy})
    name = next(k for k in _FUNCTIONS if normalize(k) == normalize(identifier))
    return MeanMetricWrapper(fn, name=name)


_NAMED: dict[str, Callable[[], Metric]] = {
    "precision": Precision, "recall": Recall, "root_mean_squared_error": RootMeanSquaredError,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
}
