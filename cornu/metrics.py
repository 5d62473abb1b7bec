"""Metrics by their Keras 3 names. Each computes one value per sample, shape (batch,);
the loop keeps sums over an epoch, so every metric is the mean over all samples seen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from cornu import losses
from cornu._names import lookup, normalize

Array = jax.Array

__all__ = [
    "Metric",
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


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[Array, Array], Array] = field(repr=False)

    def __call__(self, y_true: Array, y_pred: Array) -> Array:
        return self.fn(y_true, y_pred)


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
    if isinstance(identifier, str) and normalize(identifier) in _ACCURACY:
        kind = loss.label_kind if loss is not None else None
        if kind == "binary" or (kind is None and output_dim == 1):
            fn = binary_accuracy
        elif kind == "sparse":
            fn = sparse_categorical_accuracy
        else:
            fn = categorical_accuracy
        return Metric(identifier.strip().lower(), fn)
    # 'accuracy' is listed so that a misspelling of it gets suggested; it is handled above
    fn = lookup("metric", "metrics", identifier, {**_FUNCTIONS, "accuracy": binary_accuracy})
    name = next(k for k in _FUNCTIONS if normalize(k) == normalize(identifier))
    return Metric(name, fn)
