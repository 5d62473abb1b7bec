"""Accuracies: the functions give one value per sample (1.0 for a hit, 0.0 for a miss),
the classes average them over the samples seen."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from cornu.metrics.base import as_array, floatx, squeeze_or_expand_to_same_rank
from cornu.metrics.reduction_metrics import MeanMetricWrapper

Array = jax.Array

__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]


def _positive_int(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{argument} must be a positive integer. Received: "
                         f"{argument}={value!r}")
    return value


def accuracy(y_true: Any, y_pred: Any) -> Array:
    """1.0 where the prediction equals the label exactly."""
    y_pred = as_array(y_pred)
    y_true = as_array(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return floatx(y_true == y_pred)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Array:
    """1.0 where (y_pred > threshold) equals the 0/1 label; one value per element."""
    y_pred = as_array(y_pred)
    y_true = as_array(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return floatx(y_true == predicted)


def categorical_accuracy(y_true: Any, y_pred: Any) -> Array:
    """1.0 where the largest prediction is at the one-hot label's class."""
    y_pred = as_array(y_pred)
    labels = jnp.argmax(as_array(y_true), axis=-1).astype(y_pred.dtype)
    original = labels.shape
    reshaped = labels.ndim == y_pred.ndim
    if reshaped:
        labels = jnp.squeeze(labels, -1)
    matches = floatx(labels == jnp.argmax(y_pred, axis=-1).astype(labels.dtype))
    return matches.reshape(original) if reshaped else matches


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Array:
    """1.0 where the largest prediction is at the integer label (shape (batch,) or
    (batch, 1))."""
    y_pred = as_array(y_pred)
    labels = as_array(y_true, y_pred.dtype)
    original = labels.shape
    reshaped = labels.ndim == y_pred.ndim and labels.shape[-1] == 1
    if reshaped:
        labels = jnp.squeeze(labels, -1)
    matches = floatx(labels == jnp.argmax(y_pred, axis=-1).astype(labels.dtype))
    if reshaped:
        matches = matches.reshape(original)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def _in_top_k(targets: Array, predictions: Array, k: int) -> Array:
    """Whether each target's score is among the k largest (ties count in its favour;
    a NaN score never does)."""
    at_label = jnp.take_along_axis(predictions, targets[:, None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def _top_k(labels: Array, y_pred: Array, k: int) -> Array:
    original = labels.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if labels.ndim > 1:
        labels = labels.reshape(-1)
    matches = floatx(_in_top_k(labels.astype(jnp.int32), y_pred, k))
    return matches.reshape(original)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Array:
    """1.0 where the one-hot label's class is among the k largest predictions."""
    y_pred = as_array(y_pred)
    labels = jnp.argmax(as_array(y_true, y_pred.dtype), axis=-1)
    return _top_k(labels, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5,
                                      from_sorted_ids: bool = False) -> Array:
    """1.0 where the integer label is among the k largest predictions; with
    `from_sorted_ids`, y_pred holds class ids sorted by score and the first k count."""
    y_pred = as_array(y_pred)
    labels = as_array(y_true, y_pred.dtype if from_sorted_ids else jnp.int32)
    if not from_sorted_ids:
        return _top_k(labels, y_pred, k)
    original = labels.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if labels.ndim > 1:
        labels = labels.reshape(-1)
    matches = jnp.any(labels[:, None] == y_pred[:, :k], axis=1)
    return floatx(matches).reshape(original)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(fn=accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches the 0/1 labels."""

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None,
                 threshold: float = 0.5) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValueError(f"threshold must be a number. Received: threshold={threshold!r}")
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the one-hot label's class."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the largest prediction is at the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the `k` largest predictions."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype,
                         k=_positive_int(k, "k"))
        self.k = k

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the `k` largest predictions (or, with
    `from_sorted_ids=True`, among the first `k` ids of y_pred)."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None, from_sorted_ids: bool = False) -> None:
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype,
                         k=_positive_int(k, "k"), from_sorted_ids=bool(from_sorted_ids))
        self.k = k
        self.from_sorted_ids = bool(from_sorted_ids)

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
